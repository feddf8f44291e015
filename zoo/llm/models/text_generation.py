"""Text in, text out: generate("prompt") on a causal LM with an attached tokenizer.

keras-hub users expect `model.generate("The cat", max_length=30)` to return a
string. zoo's decoder (`zoo.llm.models.generation.generate`) works on ids; this wraps
it: the attached tokenizer turns the prompt into ids (with the start token when
the tokenizer has its own, as Llama's), decoding stops at the tokenizer's end
token and pads with its pad id, and the prompt plus continuation come back as
text. Token ids still work as before.

Example:
    >>> from zoo import from_pretrained
    >>> model = from_pretrained("checkpoints/gpt2")              # doctest: +SKIP
    >>> model.generate("The cat sat", max_length=12)              # doctest: +SKIP
    'The cat sat on the mat and ...'
"""

import numpy as np


def is_text(prompts):
    return isinstance(prompts, str) or (
        isinstance(prompts, (list, tuple)) and len(prompts) > 0 and all(isinstance(p, str) for p in prompts)
    )


def _new_tokens(max_new_tokens, max_length, prompt_lengths):
    if max_length is None:
        return 32 if max_new_tokens is None else max_new_tokens
    if max_new_tokens is not None:
        raise ValueError("pass max_length (prompt + new tokens, keras-hub's meaning) or max_new_tokens, not both")
    room = int(max_length) - max(prompt_lengths)
    if room < 1:
        raise ValueError(
            f"max_length={max_length} leaves no room after a prompt of {max(prompt_lengths)} tokens; "
            "pass a larger max_length"
        )
    return room


def generate_any(model, prompts, max_new_tokens=None, max_length=None, **kwargs):
    """Continue prompts given as text (needs an attached tokenizer) or as token ids.

    Text: returns prompt + continuation as text (one string for one prompt).
    Ids: returns the new ids of each prompt, as `zoo.llm.models.generation.generate`.
    """
    from zoo.llm.models.generation import generate

    if not is_text(prompts):
        if max_length is None:
            return generate(model, prompts, max_new_tokens=_new_tokens(max_new_tokens, None, []), **kwargs)
        rows = np.asarray(prompts, dtype=object).tolist() if isinstance(prompts, np.ndarray) else prompts
        rows = [rows] if rows and not isinstance(rows[0], (list, tuple, np.ndarray)) else rows
        new = _new_tokens(max_new_tokens, max_length, [len(r) for r in rows])
        return generate(model, prompts, max_new_tokens=new, **kwargs)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError(
            "generate() got text, but no tokenizer is attached to this model; pass token ids "
            "(a list of ints) or attach the tokenizer the model was trained with: "
            "model.attach_tokenizer(tokenizer) (from_pretrained and zoo run folders attach theirs)"
        )
    single = isinstance(prompts, str)
    texts = [prompts] if single else list(prompts)
    start = getattr(tokenizer, "start_token_id", None)
    end = getattr(tokenizer, "end_token_id", None)
    # Llama-style tokenizers mark the start of a text with their own <s>; GPT-2's start and end are one token.
    add_start = start is not None and start != end
    rows = [([int(start)] if add_start else []) + np.asarray(tokenizer.tokenize(t)).astype(int).tolist() for t in texts]
    if any(not row for row in rows):
        raise ValueError("a prompt tokenizes to no tokens; pass at least one character of text")
    new = _new_tokens(max_new_tokens, max_length, [len(r) for r in rows])
    kwargs.setdefault("stop_token_ids", None if end is None else [int(end)])
    pad = getattr(tokenizer, "pad_token_id", None)
    kwargs.setdefault("pad_token_id", 0 if pad is None else int(pad))
    continuations = generate(model, rows, max_new_tokens=new, **kwargs)
    outputs = []
    for row, text, continuation in zip(rows, texts, continuations):
        ids = row[1:] if add_start else row
        outputs.append(_detokenize(tokenizer, ids + list(continuation)))
    return outputs[0] if single else outputs


def _detokenize(tokenizer, ids):
    text = tokenizer.detokenize(np.asarray(ids, "int32"))
    if hasattr(text, "numpy"):
        text = text.numpy()
    if isinstance(text, np.ndarray):
        text = text.item() if text.ndim == 0 else text.tolist()
    return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)
