"""Text generation with a key/value cache: greedy, top-k, top-p and temperature sampling.

Without a cache, producing token t runs the model over all t-1 earlier tokens
again: O(t^2) work per sequence. With the cache every block keeps the keys and
values it has computed, so each step runs only the newest token through the
model and attends over the stored prefix. Both paths give the same tokens
(tested with greedy decoding).

Prompts in a batch may differ in length: they are right-padded, decoding starts
at the shortest, and a row keeps its own prompt tokens until it has passed
them (keras-hub's sampler loop does this bookkeeping). The samplers are
keras-hub's (`keras_hub.samplers`).

Attention kinds without a KV cache ("axial", "lsh") and reversible causal
stacks decode by recomputing the sequence every step even when use_cache=True
(`zoo.llm.layers.blocks.supports_kv_cache`): the cache would not give the same tokens.

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny")
    >>> out = generate(model, [[1, 2, 3], [4, 5]], max_new_tokens=8, sampler="top_p", top_p=0.9, seed=0)
    >>> [len(row) for row in out]
    [8, 8]
"""

import weakref

import keras
import numpy as np
from keras import ops

from zoo.llm.layers.blocks import supports_kv_cache
from zoo.llm.validation import check_token_ids

SAMPLERS = ("greedy", "top_k", "top_p", "random")

# model -> {settings: compiled decode function}; compiled once per setting, not per call.
_COMPILED = weakref.WeakKeyDictionary()


def make_sampler(sampler="greedy", temperature=1.0, top_k=None, top_p=None, seed=None):
    """A keras-hub sampler from a name ("greedy", "top_k", "top_p", "random") and its settings.

    Example:
        >>> make_sampler("top_k", top_k=5, temperature=0.7).k
        5
    """
    from keras_hub import samplers

    if isinstance(sampler, samplers.Sampler):
        return sampler
    if sampler not in SAMPLERS:
        raise ValueError(f"Unknown sampler {sampler!r}. Choose one of: {', '.join(SAMPLERS)} (or a keras_hub sampler).")
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}.")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}.")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p!r}.")
    if sampler == "greedy":
        return samplers.GreedySampler()
    if sampler == "top_k":
        return samplers.TopKSampler(k=top_k or 10, seed=seed, temperature=temperature)
    if sampler == "top_p":
        return samplers.TopPSampler(p=0.9 if top_p is None else top_p, k=top_k, seed=seed, temperature=temperature)
    return samplers.RandomSampler(seed=seed, temperature=temperature)


def generate(
    model,
    prompts,
    max_new_tokens=32,
    sampler="greedy",
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    stop_token_ids=None,
    use_cache=True,
    jit_compile=True,
    pad_token_id=0,
):
    """Continue each prompt of a CausalLM; returns the new token ids of every prompt.

    Args:
        model: a `zoo.llm.models.tasks.CausalLM`.
        prompts: a list of token-id lists (lengths may differ), or one list.
        max_new_tokens: tokens to add to each prompt (fewer if a stop token comes first).
        sampler: "greedy", "top_k", "top_p", "random" or a keras_hub sampler.
        temperature, top_k, top_p, seed: sampler settings.
        stop_token_ids: ids that end a row (the stop token is not returned).
        use_cache: False recomputes the whole sequence every step (for comparison);
            models whose attention has no cache always do.
        jit_compile: compile the decode loop with XLA (TensorFlow backend); on a CPU
            this makes cached decoding several times faster after a one-off compile.

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny")
        >>> generate(model, [1, 2, 3], max_new_tokens=2) == generate(model, [1, 2, 3], 2, use_cache=False)
        True
    """
    config = model.llm_config
    rows, single = _prompt_rows(prompts, config.vocab_size, "prompt")
    max_new_tokens = _check_max_new(max_new_tokens)
    stops = _stop_ids(stop_token_ids, config.vocab_size)
    tokens, mask, min_len, total = _pad(
        rows, max_new_tokens, config.max_length, _fill_id(pad_token_id, stops), "prompt"
    )
    settings = (sampler, temperature, top_k, top_p, seed)
    use_cache = use_cache and supports_kv_cache(config)
    fn = _decoder_fn(model, "causal", settings, stops, use_cache, jit_compile, _causal_decoder)
    out = np.asarray(ops.convert_to_numpy(fn(tokens, mask, min_len)))
    result = _new_tokens(out, [len(r) for r in rows], max_new_tokens, stops)
    return result[0] if single else result


def generate_seq2seq(
    model,
    sources,
    max_new_tokens=32,
    start_token_id=1,
    decoder_prompts=None,
    sampler="greedy",
    temperature=1.0,
    top_k=None,
    top_p=None,
    seed=None,
    stop_token_ids=None,
    use_cache=True,
    jit_compile=True,
    pad_token_id=0,
):
    """Decode a target for each source of a Seq2SeqLM; returns the new token ids.

    The encoder runs once per source; the decoder keeps a self-attention cache
    and the encoder's keys/values for cross-attention, so each step runs one token.
    Each target starts with `start_token_id` (or with `decoder_prompts`).

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("seq2seq", "tiny")
        >>> len(generate_seq2seq(model, [[5, 6, 7]], max_new_tokens=4)[0])
        4
    """
    config = model.llm_config
    sources, single = _prompt_rows(sources, config.vocab_size, "source")
    max_new_tokens = _check_max_new(max_new_tokens)
    source_len = max(len(r) for r in sources)
    if source_len > config.max_length:
        raise ValueError(f"A source has {source_len} tokens but the model's max_length is {config.max_length}.")
    encoder_ids = np.full((len(sources), source_len), pad_token_id, "int32")
    encoder_mask = np.zeros((len(sources), source_len), "int32")
    for i, row in enumerate(sources):
        encoder_ids[i, : len(row)] = row
        encoder_mask[i, : len(row)] = 1
    if decoder_prompts is None:
        check_token_ids(np.array([start_token_id]), config.vocab_size, name="start_token_id")
        targets = [[int(start_token_id)] for _ in sources]
    else:
        targets, _ = _prompt_rows(decoder_prompts, config.vocab_size, "decoder prompt")
        if len(targets) != len(sources):
            raise ValueError(f"Got {len(sources)} sources but {len(targets)} decoder prompts.")
    stops = _stop_ids(stop_token_ids, config.vocab_size)
    tokens, mask, min_len, total = _pad(
        targets, max_new_tokens, config.max_length, _fill_id(pad_token_id, stops), "decoder prompt"
    )
    settings = (sampler, temperature, top_k, top_p, seed)
    # The decoder's blocks are never reversible, so only its attention kind decides.
    use_cache = use_cache and supports_kv_cache(config.replace(reversible=False))
    fn = _decoder_fn(model, "seq2seq", settings, stops, use_cache, jit_compile, _seq2seq_decoder)
    out = np.asarray(ops.convert_to_numpy(fn(encoder_ids, encoder_mask, tokens, mask, min_len)))
    result = _new_tokens(out, [len(t) for t in targets], max_new_tokens, stops)
    return result[0] if single else result


def _sampling_loop(model, sampler, stops, use_cache, tokens, mask, min_len, cached_step, full_logits):
    """Run the sampler over the token buffer, with or without a KV cache."""
    from zoo.llm.models.tasks import empty_cache

    batch, total = ops.shape(tokens)[0], ops.shape(tokens)[1]
    if use_cache:
        cache = empty_cache(model, batch, total)
        # Prefill: every row has at least min_len prompt tokens; put all but the last of
        # them into the cache in one pass. After that the loop feeds one token per step.
        if min_len > 1:
            _, _, cache = cached_step(tokens[:, : min_len - 1], cache, 0)

        def next_logits(prompt, cache, index):
            token = ops.slice(prompt, (0, index - 1), (batch, 1))
            logits, _, cache = cached_step(token, cache, index - 1)
            return logits[:, 0], None, cache

    else:
        cache = None

        def next_logits(prompt, cache, index):
            # Uncached: the whole sequence again, every step.
            return ops.take(full_logits(prompt), index - 1, axis=1), None, cache

    return sampler(
        next=next_logits, prompt=tokens, cache=cache, index=min_len, mask=mask, stop_token_ids=stops, model=model
    )


def _causal_decoder(model, sampler, stops, use_cache):
    def full_logits(prompt):
        return model({"token_ids": prompt, "padding_mask": ops.ones_like(prompt)}, training=False)

    def decode(tokens, mask, min_len):
        return _sampling_loop(
            model, sampler, stops, use_cache, tokens, mask, min_len, model.call_with_cache, full_logits
        )

    return decode


def _seq2seq_decoder(model, sampler, stops, use_cache):
    def decode(encoder_ids, encoder_mask, tokens, mask, min_len):
        # The encoder runs once; its keys/values for every decoder block are computed once.
        cross = model.cross_cache(model.backbone.encode(encoder_ids, encoder_mask)) if use_cache else None

        def cached_step(token_ids, cache, index):
            return model.call_decoder_with_cache(token_ids, cache, index, cross, encoder_mask)

        def full_logits(prompt):
            inputs = {
                "encoder_token_ids": encoder_ids,
                "encoder_padding_mask": encoder_mask,
                "decoder_token_ids": prompt,
                "decoder_padding_mask": ops.ones_like(prompt),
            }
            return model(inputs, training=False)

        return _sampling_loop(model, sampler, stops, use_cache, tokens, mask, min_len, cached_step, full_logits)

    return decode


def _decoder_fn(model, kind, settings, stops, use_cache, jit_compile, make_decoder):
    """The compiled decode function for these settings, built once per model and settings.

    A seeded sampler is rewound to its seed on every call, so the same seed
    gives the same tokens; an unseeded one keeps drawing fresh random numbers.
    """
    sampler_arg, temperature, top_k, top_p, seed = settings
    named = isinstance(sampler_arg, str)
    sampler_key = (sampler_arg, float(temperature), top_k, top_p, seed) if named else ("instance", id(sampler_arg))
    key = (kind, sampler_key, stops, bool(use_cache), bool(jit_compile))
    fns = _COMPILED.setdefault(model, {})
    if key not in fns:
        sampler = make_sampler(*settings)
        fn = make_decoder(model, sampler, stops, use_cache)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if jit_compile and tf.distribute.get_strategy().num_replicas_in_sync > 1:
                # Under a multi-replica strategy the sampler's seed variable is
                # mirrored; XLA cannot read it from another device, so run the graph unjitted.
                jit_compile = False
            # One graph for the whole decode loop (min_len is a Python int: one trace per value).
            fn = tf.function(fn, jit_compile=bool(jit_compile))
        initial = [np.array(ops.convert_to_numpy(v)) for v in sampler.variables] if named and seed is not None else None
        fns[key] = (fn, sampler, initial)
    fn, sampler, initial = fns[key]
    if initial is not None:
        for variable, value in zip(sampler.variables, initial):
            variable.assign(value)
    return fn


def _prompt_rows(prompts, vocab_size, what):
    if prompts is None:
        raise ValueError(f"Empty {what}: give at least one token id.")
    if isinstance(prompts, np.ndarray):
        prompts = prompts.tolist()
    if not isinstance(prompts, (list, tuple)) or len(prompts) == 0:
        raise ValueError(f"Empty {what}: give a list of token ids (or a list of such lists).")
    single = not isinstance(prompts[0], (list, tuple, np.ndarray))
    rows = [list(prompts)] if single else [list(np.asarray(r).tolist()) for r in prompts]
    for i, row in enumerate(rows):
        if len(row) == 0:
            raise ValueError(
                f"Empty {what} at index {i}: a language model needs at least one token to condition on "
                "(start with a BOS token)."
            )
        check_token_ids(np.asarray(row), vocab_size, name=f"{what} {i}")
    return rows, single


def _check_max_new(max_new_tokens):
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}.")
    return max_new_tokens


def _pad(rows, max_new_tokens, max_length, pad_token_id, what):
    lengths = [len(r) for r in rows]
    total = max(lengths) + max_new_tokens
    if total > max_length:
        raise ValueError(
            f"The longest {what} ({max(lengths)} tokens) + max_new_tokens ({max_new_tokens}) = {total} "
            f"exceeds the model's max_length {max_length}."
        )
    tokens = np.full((len(rows), total), pad_token_id, "int32")
    mask = np.zeros((len(rows), total), bool)
    for i, row in enumerate(rows):
        tokens[i, : len(row)] = row
        mask[i, : len(row)] = True
    return tokens, mask, min(lengths), total


def _fill_id(pad_token_id, stops):
    """The id that fills the not-yet-generated cells of the token buffer.

    The sampler counts a row as finished once a stop id appears after its prompt,
    so the fill must not be a stop id: a GPT-2 vocabulary pads with its end-of-text
    token, which is also where it stops. The cells are overwritten before they are read.
    """
    if not stops or pad_token_id not in stops:
        return pad_token_id
    return next(i for i in range(len(stops) + 1) if i not in stops)


def _stop_ids(stop_token_ids, vocab_size):
    if stop_token_ids is None:
        return None
    if isinstance(stop_token_ids, int):
        stop_token_ids = [stop_token_ids]
    stops = tuple(int(t) for t in stop_token_ids)
    check_token_ids(np.array(stops), vocab_size, name="stop_token_ids")
    return stops or None


def _new_tokens(out, lengths, max_new_tokens, stops):
    result = []
    for row, length in zip(out, lengths):
        new = [int(t) for t in row[length : length + max_new_tokens]]
        if stops:
            for j, token in enumerate(new):
                if token in stops:
                    new = new[:j]
                    break
        result.append(new)
    return result
