"""On-device generation: a causal LM as a LiteRT (TFLite) file with `prefill` and `decode` signatures.

A phone runs the generation loop itself, so the file holds two steps of it and
the key/value cache travels between them as a plain tensor (state passed in and
out, nothing stored inside the interpreter):

- `prefill(token_ids [1, max_length], length [])`: runs the prompt, right-padded
  to max_length, through the model once (`CausalLM.call_with_cache` at index 0)
  and returns the next-token `logits` [1, vocab] at position length - 1, the greedy
  `next_token` [1] and the filled `kv_cache` [2 * layers, 1, kv_heads, max_length, head_dim]
  (block i's keys at 2i, its values at 2i + 1).
- `decode(token_id [1, 1], index [], kv_cache)`: runs one token at position
  `index`, writes its keys/values there and returns `logits`, `next_token` and the
  new `kv_cache`.

The padded prompt positions write keys/values past the prompt too; they are
never read, because each decode step writes its own position before attending
and attention masks keys after the query (causal). Shapes are fixed
(max_length = the cache length, `--max-length` or the model's), which is what
TFLite's built-in ops and a mobile runtime want. Inside the file each block's
keys and values are separate tensors (`KeyValues`), written with the built-in
DYNAMIC_UPDATE_SLICE (`write_key_values`): a decode step writes one position
and reads the cache without slicing it.

`LiteRTGenerator` runs such a file with `ai_edge_litert`'s interpreter: greedy
decoding, the same tokens as `model.generate` (checked before a file is
published), with the time of the prompt and of each decode step. A short prompt
goes through `decode` one token at a time: the fixed-shape prefill costs as much
as a dozen or more decode steps.

Example:
    >>> result = export_litert_generate("runs/pretrain-clm-20260101-120000")   # doctest: +SKIP
    >>> LiteRTGenerator(result.path).generate([5, 9, 2], max_new_tokens=8)      # doctest: +SKIP
    [17, 4, ...]
"""

import contextlib
import dataclasses
import os
import time

import numpy as np

GENERATE_FILE = "generate.tflite"
SIGNATURES = ("prefill", "decode")


@dataclasses.dataclass
class LiteRTGenerateResult:
    """Where an on-device generation export went and whether it decodes like Keras."""

    path: str
    name: str
    version: int
    max_length: int
    signatures: list
    cache_shape: list
    greedy_tokens_match_keras: object  # True, or None when the check was skipped
    size_bytes: int


class KeyValues:
    """One block's cache as its keys and values, two tensors [b, kv_heads, max_length, head_dim].

    The attention layers read a cache as `cache[0]` (keys) and `cache[1]` (values) and
    cast new entries to `cache.dtype`; on one stacked tensor each read is a STRIDED_SLICE
    that TFLite runs with its reference kernel, one element at a time (profiled: about 45%
    of a small-preset decode step). Here the two reads are the tensors themselves, no op.

    Example:
        >>> import numpy as np
        >>> kv = KeyValues(np.zeros((1, 2, 4, 8), "float32"), np.ones((1, 2, 4, 8), "float32"))
        >>> float(kv[1].sum()), str(kv.dtype)
        (64.0, 'float32')
    """

    def __init__(self, keys, values):
        self.keys, self.values = keys, values

    def __getitem__(self, index):
        return (self.keys, self.values)[index]

    @property
    def dtype(self):
        return self.keys.dtype


def write_key_values(cache, new, index):
    """`cache` (KeyValues) with `new` [2, b, kv_heads, q, head_dim] written at positions index .. index + q - 1.

    `ops.slice_update` becomes XLA's dynamic-update-slice, which the TFLite converter
    lowers to the built-in DYNAMIC_UPDATE_SLICE: it writes the new token's rows, where
    the attention layers' "core" mode (a select) rewrites every cache position.

    Example:
        >>> import numpy as np
        >>> kv = write_key_values(KeyValues(*np.zeros((2, 1, 1, 4, 1), "float32")), np.ones((2, 1, 1, 2, 1), "float32"), 1)
        >>> np.asarray(kv.keys)[0, 0, :, 0].tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    from keras import ops

    at = (0, 0, index, 0)
    keys, values = ops.unstack(new, 2, axis=0)
    return KeyValues(ops.slice_update(cache.keys, at, keys), ops.slice_update(cache.values, at, values))


@contextlib.contextmanager
def _litert_cache_writes(model):
    # While the signatures are traced, every attention layer writes its cache with `write_key_values`.
    layers = [layer for layer in model._flatten_layers() if hasattr(layer, "cache_ops")]
    before = [layer.cache_ops for layer in layers]
    for layer in layers:
        layer.cache_ops = write_key_values
    try:
        yield
    finally:
        for layer, mode in zip(layers, before):
            layer.cache_ops = mode


def cache_shape(model, max_length):
    """[2 * layers, 1, kv_heads, max_length, head_dim]: the state `prefill` returns and `decode` takes, block i's
    keys at 2i and its values at 2i + 1. Keys and values share the leading axis because a decode step splits the
    cache into them with one UNPACK and joins them with one PACK: a [layers, 2, ...] layout costs a reshape on
    each side, two more copies of the whole cache per token (measured: about 7% of a decode step)."""
    config = model.llm_config
    return [2 * config.num_layers, 1, config.key_value_heads, int(max_length), config.head_dim]


def generate_module(model, max_length):
    """A tf.Module with the `prefill` and `decode` tf.functions of a zoo CausalLM (fixed max_length)."""
    import tensorflow as tf

    shape = cache_shape(model, max_length)
    layers = shape[0] // 2

    def outputs(logits, cache):
        last = tf.cast(logits, tf.float32)
        return {
            "logits": last,
            "next_token": tf.argmax(last, axis=-1, output_type=tf.int32),
            "kv_cache": tf.stack([tensor for kv in cache for tensor in (kv.keys, kv.values)], axis=0),
        }

    def split(kv_cache):
        tensors = tf.unstack(kv_cache, num=2 * layers, axis=0)
        return tuple(KeyValues(tensors[2 * i], tensors[2 * i + 1]) for i in range(layers))

    class Generate(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, max_length], tf.int32, name="token_ids"),
                tf.TensorSpec([], tf.int32, name="length"),
            ]
        )
        def prefill(self, token_ids, length):
            cache = split(tf.zeros(shape, model.compute_dtype))
            logits, _, cache = model.call_with_cache(token_ids, cache, 0)
            return outputs(tf.gather(logits, length - 1, axis=1), cache)

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, 1], tf.int32, name="token_id"),
                tf.TensorSpec([], tf.int32, name="index"),
                tf.TensorSpec(shape, model.compute_dtype, name="kv_cache"),
            ]
        )
        def decode(self, token_id, index, kv_cache):
            logits, _, cache = model.call_with_cache(token_id, split(kv_cache), index)
            return outputs(tf.reshape(logits, [1, -1]), cache)

    return Generate()


def convert_generate(model, max_length):
    """TFLite bytes of a zoo CausalLM's prefill/decode signatures, TFLite built-in ops only."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from zoo.llm.layers.blocks import supports_kv_cache

    config = model.llm_config
    if not supports_kv_cache(config):
        raise ValueError(
            f"This model's attention ({config.attention}{', reversible' if config.reversible else ''}) has no "
            "key/value cache, so it has no decode step to export; export --format tflite (logits) instead."
        )
    if not 2 <= int(max_length) <= config.max_length:
        raise ValueError(f"max_length must lie in [2, {config.max_length}] (the model's positions), got {max_length}.")
    with _litert_cache_writes(model):
        module = generate_module(model, int(max_length))
        functions = [getattr(module, name).get_concrete_function() for name in SIGNATURES]
    # Weights become constants first: with two signatures sharing them, the converter otherwise keeps
    # them as resource variables (VAR_HANDLE/READ_VARIABLE) that nothing in the file initializes.
    holder = tf.Module()
    for name, function in zip(SIGNATURES, functions):
        frozen = convert_variables_to_constants_v2(function)
        setattr(
            holder,
            name,
            tf.function(_calling(frozen, function, name), input_signature=function.structured_input_signature[0]),
        )
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [getattr(holder, name).get_concrete_function() for name in SIGNATURES], holder
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        return converter.convert()
    except Exception as err:
        raise ValueError(
            f"TF's TFLite converter could not lower this model's prefill/decode steps to built-in ops: {err}"
        ) from err


def _calling(frozen, original, name):
    # A tf.function named like its signature, returning the original's output dict (freezing flattens it).
    keys = sorted(original.structured_outputs)

    def call(*args):
        outputs = frozen(*args)
        return dict(outputs) if isinstance(outputs, dict) else dict(zip(keys, outputs))

    call.__name__ = name
    return call


class _SignatureTensors:
    """A signature's subgraph in an interpreter, with numpy views of its input and output buffers.

    The public `SignatureRunner` resizes and reallocates every input and copies every
    input and output on each call; for a decode step of a small model that costs as much
    as the step's ops. A view writes and reads the interpreter's buffers in place; they
    stay put because no input is ever resized. Scalar inputs are set by value (a view
    of a 0-d tensor is a copy).
    """

    def __init__(self, interpreter, name):
        self.wrapper = interpreter._interpreter  # the C++ interpreter: Invoke/SetTensor/tensor per subgraph
        signature = interpreter._get_full_signature_list()[name]
        self.subgraph = self.wrapper.GetSubgraphIndexFromSignature(name)
        self.wrapper.AllocateTensors(self.subgraph)
        self.inputs, self.outputs = dict(signature["inputs"]), dict(signature["outputs"])

    def view(self, index):
        return self.wrapper.tensor(self.wrapper, index, self.subgraph)

    def input(self, name):
        return self.view(self.inputs[name])

    def output(self, name):
        return self.view(self.outputs[name])

    def set_scalar(self, name, value):
        self.wrapper.SetTensor(self.inputs[name], np.array(value, "int32"), self.subgraph)

    def invoke(self):
        self.wrapper.Invoke(self.subgraph)


class LiteRTGenerator:
    """Greedy generation with a `prefill`/`decode` LiteRT file and `ai_edge_litert`'s interpreter.

    The loop calls the interpreter the way an app does: it writes the inputs into the
    interpreter's buffers, invokes, and copies the decode step's `kv_cache` output
    into its input for the next step (one copy of the cache per token).
    num_threads: the interpreter's CPU threads (None: its default, one).

    Example:
        >>> generator = LiteRTGenerator("saved_models/tiny_lm/litert_generate/1/generate.tflite")  # doctest: +SKIP
        >>> generator.generate([5, 9, 2], max_new_tokens=8, stop_token_ids=[3])                     # doctest: +SKIP
    """

    def __init__(self, model, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        kwargs = {} if num_threads is None else {"num_threads": int(num_threads)}
        if isinstance(model, (bytes, bytearray)):
            interpreter = Interpreter(model_content=bytes(model), **kwargs)
        else:
            interpreter = Interpreter(model_path=os.fspath(model), **kwargs)
        missing = [s for s in SIGNATURES if s not in interpreter.get_signature_list()]
        if missing:
            raise ValueError(
                f"This TFLite file has no {missing} signature(s); export it with `zoo export --format litert-generate`."
            )
        self.interpreter = interpreter  # owns the buffers the views below point into
        self.prefill = _SignatureTensors(interpreter, "prefill")
        self.decode = _SignatureTensors(interpreter, "decode")
        self.max_length = int(self.prefill.input("token_ids").shape[1])
        self.timings = {}

    def generate(self, prompt, max_new_tokens=32, stop_token_ids=(), use_prefill=None):
        """New token ids after `prompt` (greedy); `self.timings` then holds the prompt's and per-step milliseconds.

        use_prefill: run the prompt through the `prefill` signature (True) or one `decode`
        step per prompt token (False); None chooses: decode steps for a prompt of at most
        max_length // 8 tokens. The prefill always runs all max_length positions (its
        shape is fixed), which costs about 11 decode steps at max_length 32, 17 at 68 and
        35-47 at 256 (measured, one thread), so a short prompt is cheaper step by step.
        """
        prompt = [int(t) for t in prompt]
        if not prompt:
            raise ValueError("Empty prompt: give at least one token id (start with a BOS token).")
        if len(prompt) + max_new_tokens > self.max_length:
            raise ValueError(
                f"The prompt ({len(prompt)} tokens) + max_new_tokens ({max_new_tokens}) exceeds the file's "
                f"max_length {self.max_length}; export with a larger --max-length."
            )
        if use_prefill is None:
            use_prefill = len(prompt) > self.max_length // 8
        decode = self.decode
        cache_in, cache_out = decode.input("kv_cache"), decode.output("kv_cache")
        token_in, next_token = decode.input("token_id"), decode.output("next_token")

        def step(token, index):
            token_in[0, 0] = token
            decode.set_scalar("index", index)
            decode.invoke()
            cache_in[...] = cache_out  # the next step's input: the file passes the cache out, not in place
            return int(next_token[0])

        started = time.perf_counter()
        if use_prefill:
            prefill = self.prefill
            ids = prefill.input("token_ids")
            ids[...] = 0
            ids[0, : len(prompt)] = prompt
            prefill.set_scalar("length", len(prompt))
            prefill.invoke()
            token = int(prefill.output("next_token")[0])
            cache_in[...] = prefill.output("kv_cache")
        else:
            # A fresh cache: the positions past the prompt are masked, but a masked NaN left in the
            # buffer would still turn the attention output into NaN (0 * NaN).
            cache_in[...] = 0
            for index, token in enumerate(prompt):
                token = step(token, index)
        prompt_ms = (time.perf_counter() - started) * 1000.0
        stops, tokens, steps = set(int(t) for t in stop_token_ids or ()), [], []
        for index in range(len(prompt), len(prompt) + max_new_tokens):
            if token in stops:
                break
            tokens.append(token)
            if len(tokens) == max_new_tokens:
                break
            started = time.perf_counter()
            token = step(token, index)
            steps.append((time.perf_counter() - started) * 1000.0)
        self.timings = {
            "prefill_ms": prompt_ms,
            "prompt_by": "prefill" if use_prefill else "decode",
            "decode_ms": steps,
        }
        return tokens


def check_against_keras(content, model, max_length, prompts=((5, 9, 2), (7,)), max_new_tokens=None):
    """True when the file's greedy tokens equal `model.generate(..., sampler="greedy")` for sample prompts."""
    vocab = model.llm_config.vocab_size
    generator = LiteRTGenerator(content)
    for prompt in prompts:
        prompt = [int(t) % vocab for t in prompt]
        new = max_new_tokens or max(1, min(8, max_length - len(prompt)))
        # Eager decoding: for a few tokens an XLA compile costs more than it saves.
        want = model.generate([prompt], max_new_tokens=new, sampler="greedy", jit_compile=False)[0]
        # Both ways of running the prompt: the prefill signature and decode steps.
        if any(generator.generate(prompt, new, use_prefill=way) != list(want) for way in (True, False)):
            return False
    return True


def export_litert_generate(
    source, output="saved_models", name=None, version=None, max_length=None, tokenizer_dir=None, check=True
):
    """Export a causal LM to `<output>/<name>/litert_generate/<version>/generate.tflite` (+ tokenizer assets).

    The greedy tokens of the file must equal Keras' before it is published (unless check=False).
    Returns a `LiteRTGenerateResult`.
    """
    from zoo.export.saved_model import export_assets, resolve_source
    from zoo.export.signatures import model_kind
    from zoo.export.versions import check_model_name, check_version, versioned_folder, write_file_export

    resolved = resolve_source(source, name, tokenizer_dir)
    check_model_name(resolved.name)
    if version is not None:
        check_version(version)
    model, kind = resolved.model, model_kind(resolved.model)
    if kind != "causal_lm":
        raise ValueError(f"--format litert-generate exports a causal LM; this model is a {kind}.")
    max_length = int(max_length or model.llm_config.max_length)
    content = convert_generate(model, max_length)
    matches = check_against_keras(content, model, max_length) if check else None
    if matches is False:
        raise RuntimeError("The LiteRT generate file's greedy tokens differ from Keras'; the file was not published.")
    assets, stop_token_id = export_assets(resolved, kind)
    shape = cache_shape(model, max_length)
    with versioned_folder(os.path.join(output, resolved.name), "litert_generate", version) as (tmp, version):
        write_file_export(
            tmp,
            GENERATE_FILE,
            content,
            assets,
            {
                "name": resolved.name,
                "version": version,
                "kind": kind,
                "format": "litert-generate",
                "max_length": max_length,
                "signatures": list(SIGNATURES),
                "kv_cache_shape": shape,
                "stop_token_id": stop_token_id,
                "source": resolved.path,
                "greedy_tokens_match_keras": matches,
            },
        )
    path = os.path.join(output, resolved.name, "litert_generate", str(version), GENERATE_FILE)
    return LiteRTGenerateResult(
        path, resolved.name, version, max_length, list(SIGNATURES), shape, matches, len(content)
    )
