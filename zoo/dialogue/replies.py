"""The assistant's replies to conversations: prompt with the chat template, decode until end-of-turn.

Example:
    >>> generate_replies(model, tokenizer, template, [[{"role": "user", "content": "Hi"}]])  # doctest: +SKIP
    ['Hello']
"""

import numpy as np


def decode_ids(tokenizer, ids):
    """Token ids as text."""
    text = tokenizer.detokenize(np.asarray(list(ids), "int32"))
    if hasattr(text, "numpy"):
        text = text.numpy()
    if isinstance(text, np.ndarray):
        text = text.item() if text.ndim == 0 else text.tolist()
    return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)


def generate_replies(model, tokenizer, template, conversations, max_new_tokens=48, batch_size=32, **sampling):
    """The assistant's next reply (text) to each conversation (a list of messages ending with a user turn)."""
    from zoo.llm.models.generation import generate

    prompts = [
        template.encode(tokenizer, messages, add_generation_prompt=True)[0].tolist() for messages in conversations
    ]
    room = model.llm_config.max_length - max_new_tokens
    prompts = [p[-room:] for p in prompts]  # keep the latest turns when a conversation outgrows the model
    replies = []
    for start in range(0, len(prompts), batch_size):
        new = generate(
            model,
            prompts[start : start + batch_size],
            max_new_tokens=max_new_tokens,
            stop_token_ids=[int(template.end_of_turn_id)],
            **sampling,
        )
        replies += [decode_ids(tokenizer, ids).strip() for ids in new]
    return replies


def exact_match(replies, answers):
    """Share of replies equal to their answer (after stripping spaces)."""
    return float(np.mean([r.strip() == a.strip() for r, a in zip(replies, answers)])) if answers else 0.0
