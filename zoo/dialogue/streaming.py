"""Token-by-token decoding with a KV cache, so a chat loop can print each token as it is generated.

`zoo.llm.models.generation.generate` compiles the whole decode loop and returns
when it is done; a person chatting wants to see the reply appear. `stream_tokens`
runs the prompt through the model once (filling the cache), then one token per
step, yielding each new id; it stops after the end-of-turn id (not yielded) or
`max_new_tokens`. Greedy by default; `temperature` > 0 samples. Models whose
attention has no cache recompute the sequence each step.

`stream_text` turns the ids into text pieces: it decodes everything generated so
far and yields what is new, so multi-byte characters split across tokens come out whole.

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=1, compile=False)
    >>> streamed = list(stream_tokens(model, [5, 9, 12], max_new_tokens=4, stop_id=-1))
    >>> from zoo.llm.models.generation import generate
    >>> streamed == generate(model, [5, 9, 12], max_new_tokens=4)
    True
"""

import numpy as np
from keras import ops

from zoo.llm.layers.blocks import supports_kv_cache


def stream_tokens(model, prompt_ids, max_new_tokens=64, stop_id=None, temperature=0.0, seed=0):
    """Yield the new token ids one at a time (greedy, or sampled when temperature > 0)."""
    from zoo.llm.models.tasks import empty_cache

    rng = np.random.default_rng(seed)
    ids = [int(i) for i in prompt_ids]
    limit = model.llm_config.max_length
    ids = ids[-(limit - 1) :]  # keep the latest turns when a conversation outgrows the model
    max_new_tokens = min(max_new_tokens, limit - len(ids))
    use_cache = supports_kv_cache(model.llm_config)
    cache = empty_cache(model, 1, limit) if use_cache else None
    if use_cache:
        logits, _, cache = model.call_with_cache(ops.convert_to_tensor([ids], "int32"), cache, 0)
    for step in range(max_new_tokens):
        if not use_cache:
            tokens = np.asarray([ids], "int32")
            logits = model({"token_ids": tokens, "padding_mask": np.ones_like(tokens)})
        last = np.asarray(ops.convert_to_numpy(logits[0, -1]), "float64")
        if temperature > 0:
            p = np.exp((last - last.max()) / temperature)
            token = int(rng.choice(len(p), p=p / p.sum()))
        else:
            token = int(np.argmax(last))
        if token == stop_id:
            return
        yield token
        ids.append(token)
        if use_cache and step + 1 < max_new_tokens:
            logits, _, cache = model.call_with_cache(ops.convert_to_tensor([[token]], "int32"), cache, len(ids) - 1)


def stream_text(tokenizer, token_stream):
    """Yield the text each new token adds (decoding the whole reply so far, so characters come out whole)."""
    from zoo.dialogue.replies import decode_ids

    ids, shown, text = [], "", ""
    for token in token_stream:
        ids.append(token)
        text = decode_ids(tokenizer, ids)
        if text.endswith("\ufffd"):  # half a character: wait for the rest
            continue
        yield text.removeprefix(shown)
        shown = text
    if text != shown:  # the reply ended inside a character: show what there is
        yield text.removeprefix(shown)
