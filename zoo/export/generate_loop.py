"""The `generate` serving signature of a causal LM: a decode loop made of core TensorFlow ops.

TF Serving and TFLite run graphs, not Python, so the loop is a `tf.while_loop`.
Each step picks the next token: greedy where a row's temperature is 0, sampled
from softmax(logits / T) otherwise.

It decodes with a key/value cache, like `zoo.llm.models.generation.generate`:
one prefill call of the model's cached forward (`CausalLM.call_with_cache`, the
same Keras layers traced into the graph) over the shared prompt prefix, then
one token per step against the cache. Keras writes the cache with
`slice_update`, which on the TensorFlow backend is XLA's
`XlaDynamicUpdateSlice` op; TF Serving has no kernel for it, so while the
signature is traced the attention layers write it with `write_in_place`
instead: the core op `InplaceUpdate`, which writes the new rows into the
cache's own buffer, so a step costs the size of its token, not of the cache.
Attention kinds without a cache ("axial", "lsh") and reversible stacks run the
model over the whole sequence so far every step (O(t^2) work).

Prompts in a batch may differ in length: they are right-padded with the pad id
(0 in every zoo tokenizer), and each row starts generating after its own last
real token, as `zoo.llm.models.generation.generate` does.

Example:
    >>> import tensorflow as tf
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=1, compile=False)
    >>> fn = tf.function(build_generate_fn(model, stop_token_id=6), autograph=False)
    >>> fn(tf.constant([[5, 42, 17]]), tf.constant([8]), tf.constant([0.0]))["generated_ids"].shape
    TensorShape([1, 8])
"""

import contextlib

import tensorflow as tf

PAD_TOKEN_ID = 0
# The XLA loop's buffer length is rounded up to a multiple of this: fewer distinct shapes to compile,
# little attention over unused positions.
SPAN_STEP = 32


def write_in_place(cache, new, index):
    """`cache` [2, b, h, len, d] with `new` [2, b, h, q, d] written at positions index .. index + q - 1, in place.

    `InplaceUpdate` writes rows of its input's own buffer (it aliases, it does not
    copy): O(q) work per call where a select or a scatter copies the whole cache.
    Safe here because each cache buffer has one owner: the loop that threads it
    through its steps, which reads it only after the write (a data dependency).
    The buffer must not be a constant or be read elsewhere: `build_generate_fn`
    allocates a fresh one per request.

    Example:
        >>> cache = tf.zeros([2, 1, 1, 4, 1]) + 0.0                  # a fresh buffer, not a constant
        >>> write_in_place(cache, tf.ones([2, 1, 1, 2, 1]), 1)[0, 0, 0, :, 0].numpy().tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    shape = tf.shape(cache)
    length, width = shape[3], shape[4]
    count = tf.shape(new)[3]
    # Row r of the [2 * b * h * len, d] view is position r % len of sequence r // len.
    starts = tf.range(shape[0] * shape[1] * shape[2]) * length + tf.cast(index, tf.int32)
    rows = tf.reshape(starts[:, None] + tf.range(count)[None, :], [-1])
    flat = tf.raw_ops.InplaceUpdate(x=tf.reshape(cache, [-1, width]), i=rows, v=tf.reshape(new, [-1, width]))
    return tf.reshape(flat, shape)


@contextlib.contextmanager
def core_op_decoding(model):
    """While tracing a serving graph, every attention layer of `model` decodes with core TensorFlow ops.

    Example:
        >>> with core_op_decoding(model):                                             # doctest: +SKIP
        ...     graph = tf.function(decode, autograph=False).get_concrete_function(*specs)
    """
    from zoo.llm.attention.full import MultiHeadAttention

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, MultiHeadAttention)]
    before = [layer.cache_ops for layer in layers]
    for layer in layers:
        layer.cache_ops = write_in_place
    try:
        yield
    finally:
        for layer, mode in zip(layers, before):
            layer.cache_ops = mode


def serving_pad_id(model):
    """The pad id of a model's serving signatures: its attached tokenizer's (an imported checkpoint's), else 0."""
    tokenizer = getattr(model, "tokenizer", None)
    pad = getattr(tokenizer, "pad_token_id", None) if tokenizer is not None else None
    return PAD_TOKEN_ID if pad is None else int(pad)


def build_generate_fn(model, stop_token_id=None, pad_token_id=None, use_cache=None, xla=False):
    """A function (prompt_ids [b, t], max_new_tokens [b], temperature [b]) -> generated ids.

    It returns `generated_ids` [b, max(max_new_tokens)] (pad after a row's own
    limit or after its stop token, which is not included) and `num_generated` [b].
    `use_cache` (default: whether the attention kind has a KV cache) picks the
    cached loop or the one that reruns the whole sequence every step.
    `xla=True` compiles the prefill and the decode loop with XLA (`jit_compile`), as
    Keras' own generate does: the cache is written in place and the step's small ops
    are fused, several times faster per token on a CPU; the input checks and the
    final gather stay plain graph ops outside it. XLA needs static shapes, so the token
    buffer and the cache span the request's prompt plus new tokens rounded up to a
    multiple of 32 (at most max_length), and each new (batch, prompt width, span)
    compiles once. A server must run XLA: a TensorFlow process does;
    TF Serving on CPU needs its `--xla_cpu_compilation_enabled` flag.
    """
    from zoo.llm.layers.blocks import supports_kv_cache

    config = model.llm_config
    vocab_size, max_length = config.vocab_size, config.max_length
    pad_token_id = serving_pad_id(model) if pad_token_id is None else int(pad_token_id)
    use_cache = supports_kv_cache(config) if use_cache is None else bool(use_cache)

    def prefill(tokens, start, total):
        """The KV cache [2, b, kv_heads, total, head_dim] per block, holding every row's first start - 1 tokens.

        As in Keras' generate: the shared prefix is cached in one pass, and the loop
        feeds the last of the shortest prompt's tokens as its first step.
        """
        batch = tf.shape(tokens)[0]
        shape = [2, batch, config.key_value_heads, total, config.head_dim]

        def empty():
            # One fresh zeroed buffer per block and call, which the core-op loop writes in place
            # (`write_in_place`). `Empty` is never folded or merged by the graph optimizer, where
            # identical `tf.zeros` would be merged into one buffer that every block then shares.
            return tuple(
                tf.raw_ops.Empty(shape=shape, dtype=model.compute_dtype, init=True) for _ in range(config.num_layers)
            )

        def run():
            return model.call_with_cache(tokens[:, : start - 1], empty(), 0)[2]

        return tf.cond(start > 1, run, empty)

    def generate(prompt_ids, max_new_tokens, temperature):
        if use_cache and not xla:
            with core_op_decoding(model):
                return decode(prompt_ids, max_new_tokens, temperature)
        return decode(prompt_ids, max_new_tokens, temperature)

    def compiled_loop(prompt_ids, lengths, limits, temperature, total, span):
        """The token buffer [b, len(span)] after decoding, prefill and loop compiled with XLA.

        `span` is a dummy vector whose length is the buffer's: a shape, which XLA
        sees as a constant, where a value would not be.

        The prefill covers the whole prompt width but its last column: positions a
        shorter row has not reached yet are rewritten by the loop before any query
        reads them (causal attention reads only earlier positions).
        """
        width, size = tf.shape(prompt_ids)[1], tf.shape(span)[0]
        tokens = tf.pad(prompt_ids, [[0, 0], [0, size - width]], constant_values=pad_token_id)
        cache = prefill(prompt_ids, width, size) if use_cache else ()
        return run_loop(tokens, lengths, limits, temperature, total, tf.reduce_min(lengths), cache)

    compiled = tf.function(compiled_loop, jit_compile=True, autograph=False)

    def run_loop(tokens, lengths, limits, temperature, total, start, cache):
        """Decode from position `start` up to `total`; returns the token buffer."""
        batch = tf.shape(tokens)[0]
        columns = tf.range(tf.shape(tokens)[1])

        def done(index, finished):
            return tf.logical_or(finished, index >= limits)

        def cond(index, tokens, finished, cache):
            return tf.logical_and(index < total, tf.logical_not(tf.reduce_all(done(index, finished))))

        def body(index, tokens, finished, cache):
            if use_cache:
                # Only the newest token runs through the model; earlier keys/values come from the cache.
                # [batch, 1] with a static 1: the cache write then broadcasts instead of gathering.
                token = tf.gather(tokens, index - 1, axis=1)[:, None]
                logits, _, cache = model.call_with_cache(token, cache, index - 1)
                logits = logits[:, 0, :]
            else:
                prefix = tokens[:, :index]
                # Causal attention: the logits at index - 1 depend on the prefix only.
                logits = model({"token_ids": prefix, "padding_mask": tf.ones_like(prefix)}, training=False)
                logits = logits[:, -1, :]
            logits = tf.cast(logits, tf.float32)
            greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)

            def sample():
                scaled = logits / tf.where(temperature > 0, temperature, 1.0)[:, None]
                return tf.where(temperature > 0, tf.random.categorical(scaled, 1, dtype=tf.int32)[:, 0], greedy)

            # An all-greedy batch skips the sampler: drawing [batch, vocab] uniforms costs more than the argmax.
            chosen = tf.cond(tf.reduce_any(temperature > 0), sample, lambda: greedy)
            # Rows still inside their prompt keep their own token; finished rows stay padded.
            write = tf.logical_and(index >= lengths, tf.logical_not(done(index, finished)))
            tokens = tf.where(
                tf.logical_and(tf.equal(columns, index)[None, :], write[:, None]), chosen[:, None], tokens
            )
            if stop_token_id is not None:
                finished = tf.logical_or(finished, tf.logical_and(write, tf.equal(chosen, stop_token_id)))
            return index + 1, tokens, finished, cache

        cache_shape = tf.TensorShape([2, None, config.key_value_heads, None, config.head_dim])
        _, tokens, _, _ = tf.while_loop(
            cond,
            body,
            (start, tokens, tf.zeros([batch], tf.bool), cache),
            shape_invariants=(
                tf.TensorShape([]),
                # The batch may lose its static size in the body (a batch-one export's decode step is [batch, hidden]).
                tf.TensorShape([None, tokens.shape[1]]),
                tf.TensorShape([None]),
                tuple(cache_shape for _ in cache),
            ),
        )
        return tokens

    def decode(prompt_ids, max_new_tokens, temperature):
        prompt_ids = tf.cast(prompt_ids, tf.int32)
        max_new_tokens = tf.cast(max_new_tokens, tf.int32)
        temperature = tf.cast(temperature, tf.float32)
        batch = tf.shape(prompt_ids)[0]
        real = tf.not_equal(prompt_ids, pad_token_id)
        lengths = tf.reduce_sum(tf.cast(real, tf.int32), axis=1)
        # Serving clients get these messages back as the request's error: say what to send instead.
        checks = [
            tf.debugging.assert_equal(
                real,
                tf.range(tf.shape(prompt_ids)[1])[None, :] < lengths[:, None],
                message=f"prompt_ids must be right-padded with the pad id {pad_token_id}: "
                "each row's real tokens first, padding only after them",
            ),
            tf.debugging.assert_positive(lengths, message="every prompt needs at least one real (non-pad) token"),
            tf.debugging.assert_non_negative(prompt_ids, message="prompt_ids must be token ids >= 0"),
            tf.debugging.assert_less(
                prompt_ids, vocab_size, message=f"prompt_ids must be token ids below the vocabulary size {vocab_size}"
            ),
            tf.debugging.assert_equal(
                tf.shape(max_new_tokens), [batch], message="max_new_tokens needs one value per prompt"
            ),
            tf.debugging.assert_equal(tf.shape(temperature), [batch], message="temperature needs one value per prompt"),
            tf.debugging.assert_positive(max_new_tokens, message="max_new_tokens must be at least 1"),
            # Each value against max_length first: a sum near 2**31 would wrap around in int32 and pass.
            tf.debugging.assert_less_equal(
                max_new_tokens,
                max_length,
                message=f"max_new_tokens must be at most max_length {max_length}, the longest sequence the model takes",
            ),
            tf.debugging.assert_non_negative(temperature, message="temperature must be >= 0 (0 = greedy)"),
        ]
        with tf.control_dependencies(checks):
            longest = tf.reduce_max(lengths)
            max_new = tf.reduce_max(max_new_tokens)
        total = longest + max_new
        with tf.control_dependencies(
            [
                tf.debugging.assert_less_equal(
                    tf.cast(longest, tf.int64) + tf.cast(max_new, tf.int64),  # int64: no wrap-around
                    tf.constant(max_length, tf.int64),
                    message=f"the longest prompt plus max_new_tokens must fit the model's max_length {max_length}",
                )
            ]
        ):
            limits = lengths + max_new_tokens  # first position a row may no longer write
            if xla:
                size = tf.minimum((total + SPAN_STEP - 1) // SPAN_STEP * SPAN_STEP, max_length)
                span = tf.zeros([size], tf.int8)
                tokens = compiled(prompt_ids[:, :longest], lengths, limits, temperature, total, span)
            else:
                tokens = tf.concat([prompt_ids[:, :longest], tf.fill([batch, max_new], pad_token_id)], axis=1)
                start = tf.reduce_min(lengths)
                cache = prefill(tokens, start, total) if use_cache else ()
                tokens = run_loop(tokens, lengths, limits, temperature, total, start, cache)
        positions = lengths[:, None] + tf.range(max_new)[None, :]
        generated = tf.gather(tokens, positions, batch_dims=1)
        count = max_new_tokens
        if stop_token_id is not None:
            is_stop = tf.equal(generated, stop_token_id)
            first_stop = tf.argmax(tf.cast(is_stop, tf.int32), axis=1, output_type=tf.int32)
            count = tf.minimum(count, tf.where(tf.reduce_any(is_stop, axis=1), first_stop, max_new))
        keep = tf.range(max_new)[None, :] < count[:, None]
        return {
            "generated_ids": tf.where(keep, generated, pad_token_id),
            "num_generated": count,
        }

    return generate
