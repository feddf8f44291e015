"""Serving signatures for every zoo model: named inputs, named outputs, any batch size.

| kind              | models                                   | signatures and outputs                              |
| ----------------- | ---------------------------------------- | --------------------------------------------------- |
| `classifier`      | CNN, VGG16 transfer, LSTM next token, LLM classifier | `serving_default`: `probabilities`, `label` |
| `image_generator` | the GAN (its generator)                  | `serving_default`: noise -> `images`                |
| `causal_lm`       | `build_llm("causal", ...)`               | `logits`: token_ids -> `logits`, `next_token_logits`; `generate` (also `serving_default`): prompt_ids, max_new_tokens, temperature -> `generated_ids`, `num_generated`; with `xla_generate`, also `generate_xla` (the same, XLA-compiled) |
| `functional`      | any other model with named inputs        | `serving_default`: the model's own output names     |

An LM's inputs are checked inside the graph, so TF Serving answers a bad request
with a message that says what to send: token ids in [0, vocab_size), rows
right-padded with the pad id (a left-padded row would otherwise get the logits
of a pad position), lengths and `max_new_tokens` within max_length, each
compared on its own before any sum, so that nothing wraps around in int32.

Input names are the model's input names (`image`, `token_ids`, `noise`, ...):
a signature's input keys are the names of its TensorSpecs. The batch
dimension is always left open (None).

Example:
    >>> from zoo import build_cnn
    >>> kind = model_kind(build_cnn())
    >>> sorted(serving_functions(build_cnn(), kind))
    ['serving_default']
"""

import tensorflow as tf

from zoo.export.generate_loop import build_generate_fn, serving_pad_id

KINDS = ("classifier", "image_generator", "causal_lm", "functional")


class TraceError(ValueError):
    """A model that cannot be turned into a serving graph, with the reason and what to do."""


def model_kind(model):
    """Which signatures a model gets: one of KINDS (raises TraceError for a model without inputs)."""
    from zoo.gan.gan import GAN
    from zoo.llm.models.tasks import CausalLM, SequenceClassifier

    if isinstance(model, CausalLM):
        return "causal_lm"
    if isinstance(model, GAN):
        return "image_generator"
    if isinstance(model, SequenceClassifier) or _is_softmax_classifier(model):
        return "classifier"
    if _has_inputs(model):
        return "functional"
    raise TraceError(
        f"Model {model.name!r} ({type(model).__name__}) cannot be traced for serving: it has no known inputs "
        "(a subclassed model that was never built or called). Build it as a Sequential or functional model, "
        "or call it once on real data and save it again."
    )


def _has_inputs(model):
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):
        return False


def _is_softmax_classifier(model):
    if not _has_inputs(model) or len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        return False
    last = model.layers[-1] if model.layers else None
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", None) == "softmax"


def input_structure(model):
    """The model's symbolic inputs: a dict for named-input models (LLMs), else a list."""
    try:
        return model.input  # a functional model's own structure (dict or tensor)
    except AttributeError:
        return list(model.inputs)  # a Sequential model that was built but never called


def input_specs(model, batch_size=None):
    """{input name: tf.TensorSpec}, the batch dimension open (None) unless `batch_size` is given."""
    structure = input_structure(model)
    if isinstance(structure, dict):
        items = list(structure.items())
    else:
        tensors = structure if isinstance(structure, (list, tuple)) else [structure]
        items = [(_clean_name(t.name, i), t) for i, t in enumerate(tensors)]
    return {name: tf.TensorSpec((batch_size,) + tuple(t.shape[1:]), t.dtype, name=name) for name, t in items}


def _clean_name(name, index):
    # KerasTensor names can carry suffixes like "image_1"; keep them as TF signature keys allow.
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name))
    return name or f"input_{index}"


def _call_model(model, specs, args):
    if isinstance(input_structure(model), dict):
        return model(dict(zip(specs, args)), training=False)
    return model(args[0] if len(args) == 1 else list(args), training=False)


def serving_functions(model, kind=None, stop_token_id=None, batch_size=None, xla_generate=False):
    """{signature name: (python function, [input TensorSpec])} for a model of `kind`.

    `batch_size` fixes the batch dimension (TFLite needs it for some graphs); None leaves it open.
    `xla_generate` adds a causal LM's `generate_xla`: `generate` with its decode loop compiled by
    XLA, several times faster per token on a CPU, for servers that run XLA.
    """
    kind = kind or model_kind(model)
    if kind == "causal_lm":
        token_specs = {"token_ids": tf.TensorSpec((batch_size, None), tf.int32, name="token_ids")}

        pad = serving_pad_id(model)
        vocab_size, max_length = model.llm_config.vocab_size, model.llm_config.max_length

        def logits_fn(token_ids):
            # Right padding (the tokenizer's pad id, 0 for zoo's own) is masked: each row gets its own logits.
            real = tf.not_equal(token_ids, pad)
            mask = tf.cast(real, tf.int32)
            lengths = tf.reduce_sum(mask, axis=1)
            # The same bounds as `generate`: an id outside the vocabulary would be clamped into another
            # token's row, a left-padded row would get the logits of a pad position.
            checks = [
                tf.debugging.assert_non_negative(token_ids, message="token_ids must be token ids >= 0"),
                tf.debugging.assert_less(
                    token_ids, vocab_size, message=f"token_ids must be token ids below the vocabulary size {vocab_size}"
                ),
                tf.debugging.assert_less_equal(
                    tf.shape(token_ids)[1],
                    max_length,
                    message=f"token_ids may hold at most max_length {max_length} tokens per row, the longest sequence "
                    "the model takes",
                ),
                tf.debugging.assert_equal(
                    real,
                    tf.range(tf.shape(token_ids)[1])[None, :] < lengths[:, None],
                    message=f"token_ids must be right-padded with the pad id {pad}: "
                    "each row's real tokens first, padding only after them",
                ),
                tf.debugging.assert_positive(lengths, message="every row needs at least one real (non-pad) token"),
            ]
            with tf.control_dependencies(checks):
                token_ids = tf.identity(token_ids)
            logits = tf.cast(model({"token_ids": token_ids, "padding_mask": mask}, training=False), tf.float32)
            last = tf.maximum(lengths - 1, 0)
            return {"logits": logits, "next_token_logits": tf.gather(logits, last, batch_dims=1)}

        generate_specs = {
            "prompt_ids": tf.TensorSpec((batch_size, None), tf.int32, name="prompt_ids"),
            "max_new_tokens": tf.TensorSpec((batch_size,), tf.int32, name="max_new_tokens"),
            "temperature": tf.TensorSpec((batch_size,), tf.float32, name="temperature"),
        }
        generate = build_generate_fn(model, stop_token_id=stop_token_id)
        functions = {
            "generate": (generate, list(generate_specs.values())),
            "logits": (logits_fn, list(token_specs.values())),
        }
        if xla_generate:
            compiled = build_generate_fn(model, stop_token_id=stop_token_id, xla=True)
            functions["generate_xla"] = (compiled, list(generate_specs.values()))
        return functions
    if kind == "image_generator":
        specs = {"noise": tf.TensorSpec((batch_size, model.latent_dim), tf.float32, name="noise")}

        def images_fn(noise):
            return {"images": tf.cast(model.generator(noise, training=False), tf.float32)}

        return {"serving_default": (images_fn, list(specs.values()))}

    specs = input_specs(model, batch_size)
    if kind == "classifier":
        from zoo.llm.models.tasks import SequenceClassifier

        from_logits = isinstance(model, SequenceClassifier)

        def classify(*args):
            out = tf.cast(_call_model(model, specs, args), tf.float32)
            probabilities = tf.nn.softmax(out, axis=-1) if from_logits else out
            return {"probabilities": probabilities, "label": tf.argmax(probabilities, axis=-1)}

        return {"serving_default": (classify, list(specs.values()))}

    def outputs_fn(*args):
        out = _call_model(model, specs, args)
        if isinstance(out, dict):
            return dict(out)
        out = out if isinstance(out, (list, tuple)) else [out]
        return dict(zip(model.output_names, out))

    return {"serving_default": (outputs_fn, list(specs.values()))}


def trace_signatures(model, kind=None, stop_token_id=None, batch_size=None, xla_generate=False):
    """{signature name: concrete function}; a model that fails to trace raises TraceError."""
    kind = kind or model_kind(model)
    traced = {}
    for name, (fn, specs) in serving_functions(model, kind, stop_token_id, batch_size, xla_generate).items():
        try:
            traced[name] = tf.function(fn, input_signature=specs, autograph=False).get_concrete_function()
        except Exception as err:
            raise TraceError(
                f"Could not trace the {name!r} signature of {model.name!r} ({type(model).__name__}) into a "
                f"TensorFlow graph: {type(err).__name__}: {err}\n"
                "A serving graph must work for any batch size on symbolic tensors: replace Python `if`/`for` "
                "on tensor values with keras.ops.cond/where, and check the model runs under model.predict()."
            ) from err
    if kind == "causal_lm":
        traced["serving_default"] = traced["generate"]
    return traced
