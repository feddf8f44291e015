"""`zoo export` of every zoo model, checked by TensorFlow alone in one fresh Python process.

The module fixture exports the tiny CNN, LSTM generator, GAN, VGG16 transfer
model and causal LM through the CLI, writes the inputs, the Keras model's
outputs and the README's REST request bodies to files, and runs
zoo/export/verify.py once on all of them.
"""

import contextlib
import hashlib
import io
import json
import os

import numpy as np
import pytest

from tests.export.conftest import make_run_folder, run_verifier, tiny_cnn, tiny_gan, tiny_lstm, tiny_vgg16

# The README's requests for the LM, character for character.
README_LM_INSTANCES = (
    '{"signature_name": "generate", "instances": '
    '[{"prompt_ids": [6, 312, 45, 9], "max_new_tokens": 16, "temperature": 0.0}]}'
)
README_LM_INPUTS = (
    '{"signature_name": "generate", "inputs": '
    '{"prompt_ids": [[6, 312, 45, 9]], "max_new_tokens": [16], "temperature": [0.0]}}'
)
README_LM_LOGITS = '{"signature_name": "logits", "instances": [{"token_ids": [6, 312, 45, 9]}]}'


def export_with_cli(*argv):
    """Run `zoo export` through zoo.export.cli.main; returns its JSON summary."""
    from zoo.export.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in argv])
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


def control_saved_model(path):
    """A SavedModel that must fail the op scan: a tensorflow-text op, and Keras' slice_update."""
    import keras
    import tensorflow as tf
    import tensorflow_text

    root = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def split(text):
        return {"tokens": tensorflow_text.WhitespaceTokenizer().tokenize(text).flat_values}

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32)], autograph=False)
    def cache_write(cache):
        # The LLM's KV cache is written this way; on the TF backend it is an XLA-only op.
        return {"cache": keras.ops.slice_update(cache, (0, 2), tf.ones([tf.shape(cache)[0], 1]))}

    tf.saved_model.save(
        root,
        path,
        signatures={"split": split.get_concrete_function(), "cache_write": cache_write.get_concrete_function()},
    )
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory, lm_run):
    from zoo.export.client import PromptCodec, generate_request, request_body
    from zoo.export.reference import keras_outputs, sample_inputs
    from zoo.text.vocabulary import TextVocabulary

    root = tmp_path_factory.mktemp("export")
    runs, out, data = root / "runs", root / "saved_models", root / "data"
    data.mkdir()
    vocab = TextVocabulary("char").fit(["the cat sat on the mat", "a dog ran"])
    models = {
        "cnn": tiny_cnn(),
        "lstm_generator": tiny_lstm(vocab.size),
        "gan_mlp": tiny_gan(),
        "vgg16_transfer": tiny_vgg16(),
        "causal_lm": lm_run[1],
    }
    sources = {
        "cnn": make_run_folder(runs, "train-cnn", models["cnn"]),
        "lstm_generator": make_run_folder(runs, "train-lstm", models["lstm_generator"]),
        "vgg16_transfer": make_run_folder(runs, "transfer", models["vgg16_transfer"]),
        "causal_lm": lm_run[0],
    }
    vocab.save(os.path.join(sources["lstm_generator"], "vocabulary.json"))
    sources["gan_mlp"] = str(root / "gan.keras")  # a bare .keras file works as well as a run folder
    models["gan_mlp"].save(sources["gan_mlp"])
    summaries = {name: export_with_cli(src, "--output", out) for name, src in sources.items() if name != "causal_lm"}
    summaries["causal_lm"] = export_with_cli(sources["causal_lm"], "--output", out, "--name", "tiny_lm")

    entries = []
    for name, summary in summaries.items():
        model, kind, cases = models[name], summary["kind"], []
        for signature in summary["signatures"]:  # every signature, the LM's serving_default alias too
            for batch in (1, 4):  # two batch sizes through one signature: the batch is dynamic
                inputs = sample_inputs(model, kind, signature, batch=batch, seed=batch)
                stem = data / f"{name}-{signature}-{batch}"
                np.savez(f"{stem}-in.npz", **inputs)
                np.savez(f"{stem}-out.npz", **keras_outputs(model, kind, signature, inputs, stop_token_id=6))
                cases.append({"signature": signature, "inputs": f"{stem}-in.npz", "expected": f"{stem}-out.npz"})
        entries.append({"path": summary["path"], "cases": cases, "requests": []})

    # REST bodies: the classifier's from the client helper, the LM's as the README prints them.
    images = sample_inputs(models["cnn"], "classifier", "serving_default", batch=2)["image"]
    codec = PromptCodec.from_export(summaries["causal_lm"]["path"])
    bodies = {
        # The README's command builds this body: python -c "...request_body({'image': np.zeros((1, 28, 28, 1))})"
        "cnn_readme": ("cnn", request_body({"image": np.zeros((1, 28, 28, 1))})),
        "cnn_instances": ("cnn", request_body({"image": images})),
        "cnn_inputs": ("cnn", request_body({"image": images}, format="inputs")),
        "lm_instances": ("causal_lm", json.loads(README_LM_INSTANCES)),
        "lm_inputs": ("causal_lm", json.loads(README_LM_INPUTS)),
        "lm_logits": ("causal_lm", json.loads(README_LM_LOGITS)),
        "lm_text": ("causal_lm", generate_request(codec, ["def main(", "x"], max_new_tokens=6)),
    }
    requests = {}
    for key, (name, body) in bodies.items():
        with open(data / f"{key}.json", "w", encoding="utf-8") as f:
            json.dump(body, f)
        requests.setdefault(summaries[name]["path"], []).append(
            {"body": str(data / f"{key}.json"), "response": str(data / f"{key}-response.json")}
        )
    for path, items in requests.items():
        entry = next((e for e in entries if e["path"] == path), None)
        if entry is None:
            entries.append(entry := {"path": path, "cases": [], "requests": []})
        entry["requests"] += items
    entries.append({"path": control_saved_model(str(root / "control"))})
    with open(data / "plan.json", "w", encoding="utf-8") as f:
        json.dump({"saved_models": entries}, f)
    code, report = run_verifier(["--plan", str(data / "plan.json")])
    responses = {key: json.load(open(data / f"{key}-response.json", encoding="utf-8")) for key in bodies}
    return {
        "summaries": summaries,
        "report": report,
        "code": code,
        "models": models,
        "out": out,
        "sources": sources,
        "bodies": bodies,
        "responses": responses,
        "codec": codec,
        "keras_outputs": keras_outputs,
        "images": images,
    }


def reports_by_path(exported):
    return {r["path"]: r for r in exported["report"]["saved_models"]}


def test_each_model_is_written_to_its_first_version_with_manifest_and_assets(exported):
    out, summaries = exported["out"], exported["summaries"]
    for name, summary in summaries.items():
        served = "tiny_lm" if name == "causal_lm" else name  # --name renames; others keep the Keras name
        assert summary["path"] == os.path.join(str(out), served, "1")
        assert os.path.isfile(os.path.join(summary["path"], "saved_model.pb"))
        with open(os.path.join(summary["path"], "assets.extra", "zoo_export.json"), encoding="utf-8") as f:
            assert json.load(f)["kind"] == summary["kind"]
    assert sorted(os.listdir(os.path.join(summaries["causal_lm"]["path"], "assets"))) == [
        "sentencepiece.model",
        "tokenizer.json",
    ]
    assert os.listdir(os.path.join(summaries["lstm_generator"]["path"], "assets")) == ["vocabulary.json"]
    # No temporary folder is left beside the versions.
    assert sorted(os.listdir(out / "cnn")) == ["1"]


def test_signatures_have_named_inputs_outputs_and_an_open_batch(exported):
    reports = reports_by_path(exported)
    cnn = reports[exported["summaries"]["cnn"]["path"]]
    assert cnn["inputs"]["serving_default"] == {"image": ["float32", [None, 28, 28, 1]]}
    assert cnn["outputs"]["serving_default"] == {"label": ["int64", [None]], "probabilities": ["float32", [None, 10]]}
    lm = reports[exported["summaries"]["causal_lm"]["path"]]
    assert lm["signatures"] == ["generate", "logits", "serving_default"]
    assert lm["inputs"]["generate"] == {
        "max_new_tokens": ["int32", [None]],
        "prompt_ids": ["int32", [None, None]],
        "temperature": ["float32", [None]],
    }
    assert lm["outputs"]["generate"] == {"generated_ids": ["int32", [None, None]], "num_generated": ["int32", [None]]}
    assert lm["outputs"]["logits"] == {
        "logits": ["float32", [None, None, 400]],
        "next_token_logits": ["float32", [None, 400]],
    }
    gan = reports[exported["summaries"]["gan_mlp"]["path"]]
    assert gan["outputs"]["serving_default"] == {"images": ["float32", [None, 28, 28, 1]]}


def test_fresh_tensorflow_process_gives_the_keras_outputs(exported):
    report = exported["report"]
    assert report["zoo_imported"] is False
    checked = [r for r in report["saved_models"] if r["cases"]]
    assert len(checked) == 5
    for entry in checked:
        # Two batch sizes per signature, and all three signatures of the LM.
        assert len(entry["cases"]) >= 2
        assert {c["signature"] for c in entry["cases"]} == set(
            next(r["signatures"] for r in report["saved_models"] if r["path"] == entry["path"])
        )
        for case in entry["cases"]:
            assert case["passed"], (entry["path"], case)


def test_saved_model_cli_lists_every_signature(exported):
    for entry in exported["report"]["saved_models"]:
        if "load_error" not in entry:
            assert entry["saved_model_cli_signatures"] == entry["signatures"] != []


def test_exports_hold_core_tensorflow_ops_only_and_the_scan_catches_others(exported):
    reports = reports_by_path(exported)
    for summary in exported["summaries"].values():
        assert reports[summary["path"]]["non_core_ops"] == []
        assert reports[summary["path"]]["ops"] > 10
    control = next(r for r in exported["report"]["saved_models"] if r["path"].endswith("control"))
    # tensorflow-text's op is unknown to plain TensorFlow (the model does not even load), and
    # Keras' slice_update is XLA's op: why the serving `generate` loop does not use the KV cache.
    assert any(op.startswith("TFText>") for op in control["non_core_ops"])
    assert "XlaDynamicUpdateSlice" in control["non_core_ops"]
    assert "load_error" in control
    assert exported["code"] == 1  # the verifier's exit code reports the failing control model


def test_classifier_rest_requests_in_both_formats(exported):
    keras = exported["keras_outputs"](
        exported["models"]["cnn"], "classifier", "serving_default", {"image": exported["images"]}
    )
    from zoo.export.client import response_outputs

    for key in ("cnn_instances", "cnn_inputs"):
        outputs = response_outputs(exported["responses"][key])
        assert outputs["label"] == keras["label"].tolist()
        np.testing.assert_allclose(outputs["probabilities"], keras["probabilities"], atol=1e-5)
    assert exported["bodies"]["cnn_instances"][1]["instances"][0].keys() == {"image"}
    zeros = exported["keras_outputs"](
        exported["models"]["cnn"], "classifier", "serving_default", {"image": np.zeros((1, 28, 28, 1), "float32")}
    )
    assert response_outputs(exported["responses"]["cnn_readme"])["label"] == zeros["label"].tolist()


def test_readme_lm_requests_generate_the_keras_tokens(exported):
    from zoo.export.client import generated_ids, generated_texts

    model = exported["models"]["causal_lm"]
    want = model.generate([[6, 312, 45, 9]], max_new_tokens=16, sampler="greedy", stop_token_ids=6, use_cache=False)
    assert generated_ids(exported["responses"]["lm_instances"]) == want
    assert generated_ids(exported["responses"]["lm_inputs"]) == want
    logits = exported["responses"]["lm_logits"]["predictions"][0]
    ids = np.array([[6, 312, 45, 9]])
    keras_logits = model.predict({"token_ids": ids, "padding_mask": np.ones_like(ids)}, verbose=0)
    np.testing.assert_allclose(logits["next_token_logits"], keras_logits[0, -1], atol=1e-4)
    # Text in, text out: two prompts of different lengths, right-padded by the client.
    codec = exported["codec"]
    prompts = [codec.encode("def main("), codec.encode("x")]
    want = model.generate(prompts, max_new_tokens=6, sampler="greedy", stop_token_ids=6, use_cache=False)
    assert generated_texts(codec, exported["responses"]["lm_text"]) == [codec.decode(ids) for ids in want]


def test_reexport_writes_the_next_version_and_leaves_the_old_one_alone(exported):
    first = os.path.join(exported["summaries"]["gan_mlp"]["path"], "saved_model.pb")
    before = hashlib.sha256(open(first, "rb").read()).hexdigest()
    summary = export_with_cli(exported["sources"]["gan_mlp"], "--output", exported["out"])
    assert summary["version"] == 2
    assert hashlib.sha256(open(first, "rb").read()).hexdigest() == before
    assert sorted(os.listdir(exported["out"] / "gan_mlp")) == ["1", "2"]


@contextlib.contextmanager
def address_space_limit(extra_bytes):
    """Cap this process's memory at what it uses now plus `extra_bytes`: a runaway allocation fails, not the machine."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def served_lm(exported):
    """The exported LM's signatures as TF Serving would load them."""
    import tensorflow as tf

    return tf.saved_model.load(exported["summaries"]["causal_lm"]["path"]).signatures


@pytest.mark.parametrize(
    "signature, inputs, message",
    [
        # int32 wrap-around: 2 + 2147483647 is negative; it used to pass and allocate until killed.
        ("generate", ([[5, 6]], [2147483647], [0.0]), "max_new_tokens must be at most max_length 48"),
        ("generate", ([[5, -3]], [2], [0.0]), "prompt_ids must be token ids >= 0"),
        ("logits", [[5, -3]], "token_ids must be token ids >= 0"),  # used to read the row of id 397
        ("logits", [[5, 400]], "token_ids must be token ids below the vocabulary size 400"),
        ("logits", [[0, 0, 5, 6]], "token_ids must be right-padded with the pad id 0"),  # left padding
        ("logits", [[0, 0]], "at least one real"),
        ("logits", [[5] * 49], "at most max_length 48 tokens per row"),
    ],
)
def test_served_lm_signatures_reject_out_of_bounds_inputs(served_lm, signature, inputs, message):
    import tensorflow as tf

    if signature == "generate":
        prompt_ids, max_new_tokens, temperature = inputs
        kwargs = {
            "prompt_ids": tf.constant(prompt_ids, tf.int32),
            "max_new_tokens": tf.constant(max_new_tokens, tf.int32),
            "temperature": tf.constant(temperature, tf.float32),
        }
    else:
        kwargs = {"token_ids": tf.constant(inputs, tf.int32)}
    with address_space_limit(2 << 30), pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served_lm[signature](**kwargs)
