"""What the Keras model itself answers for a serving signature's inputs: the yardstick of every export.

`sample_inputs` makes valid inputs for a signature (images, noise, in-vocabulary
token ids, right-padded prompts); `keras_outputs` computes the same named
outputs with the Keras model; `max_differences` compares two sets of outputs.
Export runs them on the freshly written SavedModel before it is published, and
the tests run them against SavedModel and TFLite files in other processes.

Example:
    >>> from zoo import build_cnn
    >>> model = build_cnn()
    >>> inputs = sample_inputs(model, "classifier", "serving_default")
    >>> expected = keras_outputs(model, "classifier", "serving_default", inputs)
    >>> sorted(expected)
    ['label', 'probabilities']
"""

import numpy as np

from zoo.export.generate_loop import serving_pad_id
from zoo.llm.layers.blocks import supports_kv_cache


def _vocab_size(model):
    config = getattr(model, "llm_config", None)
    if config is not None:
        return config.vocab_size
    import keras

    for layer in model.layers:  # the LSTM generator's first layer
        if isinstance(layer, keras.layers.Embedding):
            return layer.input_dim
    return 2


def sample_inputs(model, kind, signature, batch=3, seed=0, prompt_length=5, max_new_tokens=4):
    """{input name: numpy array} of valid inputs for one signature of a model of `kind`."""
    from zoo.export.signatures import input_specs

    rng = np.random.default_rng(seed)
    if kind == "causal_lm":
        vocab, max_length = _vocab_size(model), model.llm_config.max_length
        # Prompt plus new tokens must fit the model's positions, however short its max_length.
        prompt_length = max(1, min(prompt_length, max_length // 2))
        max_new_tokens = max(1, min(max_new_tokens, max_length - prompt_length))
        pad = serving_pad_id(model)
        ids = rng.integers(1, vocab, size=(batch, prompt_length)).astype("int32")
        ids[ids == pad] = 1 if pad != 1 else 2  # prompts hold no pad id
        # Rows of different lengths, right-padded: the case clients get wrong most often.
        for row in range(1, batch):
            ids[row, prompt_length - row % prompt_length :] = pad
        if signature == "logits":
            return {"token_ids": ids}
        return {
            "prompt_ids": ids,
            "max_new_tokens": np.full((batch,), max_new_tokens, "int32"),
            "temperature": np.zeros((batch,), "float32"),
        }
    if kind == "image_generator":
        return {"noise": rng.normal(size=(batch, model.latent_dim)).astype("float32")}
    inputs = {}
    for name, spec in input_specs(model).items():
        shape = (batch,) + tuple(d if d is not None else prompt_length for d in spec.shape[1:])
        if spec.dtype.is_integer:
            if name == "padding_mask":
                inputs[name] = np.ones(shape, spec.dtype.as_numpy_dtype)
            elif name == "segment_ids":
                inputs[name] = np.zeros(shape, spec.dtype.as_numpy_dtype)
            else:
                inputs[name] = rng.integers(1, _vocab_size(model), size=shape).astype(spec.dtype.as_numpy_dtype)
        else:
            inputs[name] = rng.uniform(size=shape).astype(spec.dtype.as_numpy_dtype)
    return inputs


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def keras_outputs(model, kind, signature, inputs, stop_token_id=None):
    """{output name: numpy array}: what the Keras model gives for these signature inputs."""
    if kind == "causal_lm":
        if signature == "logits":
            ids = inputs["token_ids"]
            mask = (ids != serving_pad_id(model)).astype("int32")
            logits = np.asarray(model.predict({"token_ids": ids, "padding_mask": mask}, verbose=0), "float32")
            last = np.maximum(mask.sum(axis=1) - 1, 0)
            return {"logits": logits, "next_token_logits": logits[np.arange(len(ids)), last]}
        return _keras_generate(model, inputs, stop_token_id)
    if kind == "image_generator":
        return {"images": np.asarray(model.generator.predict(inputs["noise"], verbose=0), "float32")}
    from zoo.export.signatures import input_structure

    x = inputs if isinstance(input_structure(model), dict) else list(inputs.values())[0]
    out = model.predict(x, verbose=0)
    if kind == "classifier":
        from zoo.llm.models.tasks import SequenceClassifier

        probabilities = np.asarray(out, "float32")
        if isinstance(model, SequenceClassifier):
            probabilities = _softmax(probabilities)
        return {"probabilities": probabilities, "label": probabilities.argmax(axis=-1).astype("int64")}
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    out = out if isinstance(out, (list, tuple)) else [out]
    return {name: np.asarray(v) for name, v in zip(model.output_names, out)}


def _keras_generate(model, inputs, stop_token_id):
    # Greedy decoding is the only one with a single right answer to compare against.
    if np.any(inputs["temperature"] != 0):
        raise ValueError("The Keras reference of `generate` is greedy: give temperature 0 for every prompt.")
    limits = inputs["max_new_tokens"]
    width = int(limits.max())
    pad = serving_pad_id(model)
    rows = [[int(t) for t in row if t != pad] for row in inputs["prompt_ids"]]
    generated = np.full((len(rows), width), pad, "int32")
    counts = np.zeros(len(rows), "int32")
    # One call per distinct limit: Keras decodes ragged prompts in one batch the same way.
    for limit in sorted(set(int(n) for n in limits)):
        chosen = [i for i, n in enumerate(limits) if int(n) == limit]
        # With a KV cache where the serving loop has one: the same arithmetic, so argmax ties break alike.
        news = model.generate(
            [rows[i] for i in chosen],
            max_new_tokens=limit,
            sampler="greedy",
            stop_token_ids=stop_token_id,
            use_cache=supports_kv_cache(model.llm_config),
        )
        for i, new in zip(chosen, news):
            generated[i, : len(new)] = new
            counts[i] = len(new)
    return {"generated_ids": generated, "num_generated": counts}


def max_differences(expected, actual):
    """{output name: max |expected - actual|} over the outputs both have; a missing output raises."""
    missing = sorted(set(expected) - set(actual))
    if missing:
        raise ValueError(f"Outputs {missing} are missing; got {sorted(actual)}.")
    result = {}
    for name, want in expected.items():
        got = np.asarray(actual[name])
        want = np.asarray(want)
        if got.shape != want.shape:
            raise ValueError(f"Output {name!r} has shape {got.shape}, expected {want.shape}.")
        result[name] = float(np.max(np.abs(got.astype("float64") - want.astype("float64")))) if want.size else 0.0
    return result
