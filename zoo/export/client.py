"""A small TF Serving REST client for zoo exports: text in, request JSON out, answer back to text.

The served graph holds core TensorFlow ops only, so tokenizing happens here, in
the client, with the `sentencepiece` library and the tokenizer file the export
shipped as an asset (`<version>/assets/sentencepiece.model`). Nothing here
imports TensorFlow or Keras.

TF Serving's `:predict` takes two JSON layouts; `request_body` builds both:

- row format: {"signature_name": ..., "instances": [{"input": value}, ...]},
  one object per example, answered by {"predictions": [...]};
- columnar format: {"signature_name": ..., "inputs": {"input": [values]}},
  answered by {"outputs": {...}}.

Example:
    >>> codec = PromptCodec.from_export("saved_models/tiny_lm/1")           # doctest: +SKIP
    >>> body = generate_request(codec, ["def main("], max_new_tokens=16)    # doctest: +SKIP
    >>> answer = post_json(predict_url("tiny_lm"), body)                    # doctest: +SKIP
    >>> generated_texts(codec, answer)                                      # doctest: +SKIP
    ['):\\n    return 0']
"""

import json
import os
import urllib.error
import urllib.request

FORMATS = ("instances", "inputs")
PAD_TOKEN_ID = 0  # every zoo tokenizer: [PAD]=0 ... </s>=6
END_TOKEN_ID = 6


def predict_url(name, host="localhost", port=8501, version=None):
    """TF Serving's REST predict URL; without a version, TF Serving answers with the newest.

    Example:
        >>> predict_url("cnn", version=2)
        'http://localhost:8501/v1/models/cnn/versions/2:predict'
    """
    version_part = "" if version is None else f"/versions/{int(version)}"
    return f"http://{host}:{port}/v1/models/{name}{version_part}:predict"


def _as_list(value):
    return value.tolist() if hasattr(value, "tolist") else value


def request_body(inputs, signature_name="serving_default", format="instances"):
    """A `:predict` body from {input name: batch of values}, in row ("instances") or columnar ("inputs") format.

    Example:
        >>> request_body({"noise": [[0.1, 0.2]]}, format="inputs")
        {'signature_name': 'serving_default', 'inputs': {'noise': [[0.1, 0.2]]}}
        >>> request_body({"noise": [[0.1, 0.2]]})
        {'signature_name': 'serving_default', 'instances': [{'noise': [0.1, 0.2]}]}
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS} (TF Serving's row and columnar layouts), got {format!r}.")
    if not isinstance(inputs, dict) or not inputs:
        raise ValueError("inputs must be a non-empty dict {input name: batch of values}, e.g. {'image': images}.")
    columns = {name: _as_list(value) for name, value in inputs.items()}
    sizes = {name: len(value) if isinstance(value, list) else None for name, value in columns.items()}
    if format == "inputs":
        return {"signature_name": signature_name, "inputs": columns}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(
            f"The row format needs the same batch size for every input, got {sizes}; "
            "give each input one value per example, or use format='inputs'."
        )
    batch = next(iter(sizes.values()))
    instances = [{name: value[i] for name, value in columns.items()} for i in range(batch)]
    return {"signature_name": signature_name, "instances": instances}


def response_outputs(response, output_name=None):
    """{output name: list per example} from a `:predict` answer in either format.

    A signature with one output is answered bare; `output_name` names it.

    Example:
        >>> response_outputs({"predictions": [{"label": 3}, {"label": 1}]})
        {'label': [3, 1]}
    """
    if "error" in response:
        raise RuntimeError(f"TF Serving answered with an error: {response['error']}")
    if "predictions" in response:
        rows = response["predictions"]
        if rows and all(isinstance(row, dict) for row in rows):
            return {key: [row[key] for row in rows] for key in rows[0]}
        return {output_name or "output": rows}
    if "outputs" in response:
        outputs = response["outputs"]
        return dict(outputs) if isinstance(outputs, dict) else {output_name or "output": outputs}
    raise ValueError(f"Not a :predict answer (no 'predictions' or 'outputs'): keys {sorted(response)}.")


class PromptCodec:
    """Text <-> token ids with the SentencePiece model an LLM export carries as an asset.

    Example:
        >>> codec = PromptCodec.from_export("saved_models/tiny_lm/1")   # doctest: +SKIP
        >>> codec.decode(codec.encode("hello")[1:])                     # doctest: +SKIP
        'hello'
    """

    def __init__(self, model_file, end_token_id=END_TOKEN_ID, pad_token_id=PAD_TOKEN_ID):
        import sentencepiece

        if not os.path.isfile(model_file):
            raise FileNotFoundError(
                f"{model_file} not found: export the LM with its tokenizer (zoo export RUN --tokenizer FOLDER) "
                "so that the SavedModel carries assets/sentencepiece.model."
            )
        self.processor = sentencepiece.SentencePieceProcessor(model_file=model_file)
        self.end_token_id = end_token_id
        self.pad_token_id = pad_token_id

    @classmethod
    def from_export(cls, saved_model_dir):
        """The codec of an exported version folder, from its assets."""
        assets = os.path.join(saved_model_dir, "assets")
        special = {}
        meta_file = os.path.join(assets, "tokenizer.json")
        ids = {}
        if os.path.isfile(meta_file):
            with open(meta_file, encoding="utf-8") as f:
                meta = json.load(f)
            special = meta.get("special_tokens", {})
            ids = meta.get("special_ids") or {}  # an imported checkpoint's tokenizer (zoo import)
        if ids:
            # An imported Llama-family checkpoint ships its SentencePiece model as tokenizer.model.
            end, pad = ids.get("eos"), ids.get("pad")
            return cls(
                os.path.join(assets, "tokenizer.model"),
                end_token_id=END_TOKEN_ID if end is None else end,
                pad_token_id=PAD_TOKEN_ID if pad is None else pad,
            )
        return cls(
            os.path.join(assets, "sentencepiece.model"),
            end_token_id=special.get("</s>", END_TOKEN_ID),
            pad_token_id=special.get("[PAD]", PAD_TOKEN_ID),
        )

    def encode(self, text, new_document=True):
        """Prompt ids of `text`; a new document starts after `</s>`, as in the CLM training stream."""
        ids = list(self.processor.encode(text))
        return [self.end_token_id] + ids if new_document else ids

    def decode(self, ids):
        return self.processor.decode([int(i) for i in ids])


def generate_request(codec, prompts, max_new_tokens=32, temperature=0.0, format="instances", new_document=True):
    """The `generate` request body for a list of prompt texts (right-padded ids, one setting per prompt).

    Example:
        >>> generate_request(codec, ["hello"], max_new_tokens=8)["instances"][0]["max_new_tokens"]   # doctest: +SKIP
        8
    """
    if isinstance(prompts, str):
        prompts = [prompts]
    rows = [codec.encode(text, new_document) for text in prompts]
    width = max(len(row) for row in rows)
    ids = [row + [codec.pad_token_id] * (width - len(row)) for row in rows]
    inputs = {
        "prompt_ids": ids,
        "max_new_tokens": [int(max_new_tokens)] * len(rows),
        "temperature": [float(temperature)] * len(rows),
    }
    return request_body(inputs, signature_name="generate", format=format)


def generated_ids(response):
    """The new token ids of each prompt, cut to its `num_generated`."""
    outputs = response_outputs(response)
    return [list(ids[: int(n)]) for ids, n in zip(outputs["generated_ids"], outputs["num_generated"])]


def generated_texts(codec, response):
    """The generated text of each prompt."""
    return [codec.decode(ids) for ids in generated_ids(response)]


def post_json(url, body, timeout=60):
    """POST a JSON body and return the JSON answer; TF Serving's error message is raised as it is."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")
        raise RuntimeError(f"{url} answered HTTP {err.code}: {detail}") from err
