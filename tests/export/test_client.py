"""The REST client: request bodies, answers, SentencePiece codec, and a round trip over local HTTP."""

import http.server
import json
import threading

import numpy as np
import pytest

from zoo.export.client import PromptCodec, generate_request, post_json, predict_url, request_body, response_outputs


def test_predict_url_with_and_without_a_version():
    assert predict_url("cnn") == "http://localhost:8501/v1/models/cnn:predict"
    assert (
        predict_url("lm", host="10.0.0.2", port=9000, version=3)
        == "http://10.0.0.2:9000/v1/models/lm/versions/3:predict"
    )


def test_request_body_row_and_columnar_formats():
    inputs = {"prompt_ids": np.array([[6, 7], [6, 0]]), "max_new_tokens": [4, 2]}
    assert request_body(inputs, "generate") == {
        "signature_name": "generate",
        "instances": [{"prompt_ids": [6, 7], "max_new_tokens": 4}, {"prompt_ids": [6, 0], "max_new_tokens": 2}],
    }
    assert request_body(inputs, "generate", format="inputs") == {
        "signature_name": "generate",
        "inputs": {"prompt_ids": [[6, 7], [6, 0]], "max_new_tokens": [4, 2]},
    }


@pytest.mark.parametrize(
    "inputs, kwargs, message",
    [
        ({"a": [1, 2], "b": [1]}, {}, "same batch size"),
        ({}, {}, "non-empty dict"),
        ({"a": [1]}, {"format": "rows"}, "row and columnar"),
    ],
)
def test_request_body_errors(inputs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        request_body(inputs, **kwargs)


def test_response_outputs_reads_both_formats_and_errors():
    assert response_outputs({"outputs": {"label": [1, 2]}}) == {"label": [1, 2]}
    assert response_outputs({"predictions": [[0.5, 0.5]]}, output_name="images") == {"images": [[0.5, 0.5]]}
    with pytest.raises(RuntimeError, match="TF Serving answered with an error: bad input"):
        response_outputs({"error": "bad input"})
    with pytest.raises(ValueError, match="Not a :predict answer"):
        response_outputs({"result": 1})


def test_prompt_codec_gives_the_zoo_tokenizer_ids(lm_tokenizer_dir, tmp_path):
    import shutil

    from zoo.data.tokenizer import load_tokenizer

    # The layout of an export: <version>/assets/ holds the tokenizer files.
    shutil.copytree(lm_tokenizer_dir, tmp_path / "assets")
    codec = PromptCodec.from_export(str(tmp_path))
    tokenizer = load_tokenizer(lm_tokenizer_dir)
    for text in ("def main(argv=None):", "吾輩は猫である。"):
        ids = codec.encode(text)
        assert ids[0] == 6  # documents follow </s> in the CLM pipeline
        assert ids[1:] == codec.encode(text, new_document=False) == [int(i) for i in tokenizer.tokenize(text)]
        assert codec.decode(ids[1:]) == text
    body = generate_request(codec, ["x", "def main("], max_new_tokens=5, temperature=0.7, format="inputs")
    short, long = codec.encode("x"), codec.encode("def main(")
    assert body["inputs"]["prompt_ids"] == [short + [0] * (len(long) - len(short)), long]  # right-padded
    assert body["inputs"]["max_new_tokens"] == [5, 5] and body["inputs"]["temperature"] == [0.7, 0.7]


def test_prompt_codec_without_a_tokenizer_asset_says_how_to_export_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="--tokenizer"):
        PromptCodec.from_export(str(tmp_path))


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    """A 127.0.0.1 stand-in for TF Serving's REST API, answering with an exported CNN."""
    import tensorflow as tf

    from tests.export.conftest import tiny_cnn
    from zoo.export.saved_model import export_saved_model
    from zoo.export.verify import rest_predict

    model = tiny_cnn()
    result = export_saved_model(model, str(tmp_path_factory.mktemp("serving")))
    loaded = tf.saved_model.load(result.path)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                status, answer = 200, rest_predict(loaded, body)
            except ValueError as err:  # TF Serving answers bad requests with 400 and {"error": ...}
                status, answer = 400, {"error": str(err)}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield model, predict_url("cnn", host="127.0.0.1", port=server.server_address[1])
    server.shutdown()


def test_post_json_round_trip_and_error(local_server):
    model, url = local_server
    images = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype("float32")
    outputs = response_outputs(post_json(url, request_body({"image": images})))
    assert outputs["label"] == model.predict(images, verbose=0).argmax(axis=-1).tolist()
    with pytest.raises(RuntimeError, match="HTTP 400.*takes inputs \\['image'\\]"):
        post_json(url, request_body({"pixels": images}))
