"""Supervised fine-tuning (instruction tuning) batches: next-token targets whose loss skips the prompt.

A conversation is encoded with the chat template; the model reads tokens
0..n-2 and predicts tokens 1..n-1, and each target's sample weight is the
template's weight of that target token: 1 for the assistant's words and its
end-of-turn, 0 for system and user turns, headers and padding. So only the
replies carry gradient: the model learns to answer, not to write questions.
(Keras averages a weighted loss over all positions, so fit()'s loss is the
reply loss times the share of reply positions; `reply_loss` reports the mean
per assistant token.)

Packing (optional) concatenates several conversations into one row of
`seq_len` tokens so few positions are padding. The packed conversations can see
each other through causal attention (as in most SFT libraries' simple packing);
the weights still count only assistant tokens.

Example:
    >>> rows = [(np.array([1, 2, 3]), np.array([0, 1, 1]))]
    >>> x, y, w = sft_arrays(rows, seq_len=4)
    >>> x["token_ids"].tolist(), y.tolist(), w.tolist()
    ([[1, 2, 3, 0]], [[2, 3, 0, 0]], [[1.0, 1.0, 0.0, 0.0]])
"""

import numpy as np

from zoo.errors import UsageError


def encode_conversations(conversations, tokenizer, template):
    """[(ids, weights)] of every conversation under the chat template."""
    return [template.encode(tokenizer, messages) for messages in conversations]


def pack_rows(rows, seq_len):
    """Greedily concatenate (ids, weights) rows into rows of at most seq_len + 1 tokens (one longer: the shift)."""
    packed, ids, weights = [], [], []
    for row_ids, row_weights in rows:
        row_ids, row_weights = list(row_ids[: seq_len + 1]), list(row_weights[: seq_len + 1])
        if ids and len(ids) + len(row_ids) > seq_len + 1:
            packed.append((np.asarray(ids), np.asarray(weights)))
            ids, weights = [], []
        ids += row_ids
        weights += row_weights
    if ids:
        packed.append((np.asarray(ids), np.asarray(weights)))
    return packed


def sft_arrays(rows, seq_len, pad_id=0, pack=False):
    """(x, y, sample_weight) for `fit()` from (ids, weights) rows; rows longer than seq_len + 1 are cut.

    x is {"token_ids", "padding_mask"} [n, seq_len]; y the next tokens; sample_weight is 1.0 exactly where
    y is an assistant token.
    """
    if pack:
        rows = pack_rows(rows, seq_len)
    n = len(rows)
    ids = np.full((n, seq_len + 1), pad_id, "int32")
    weights = np.zeros((n, seq_len + 1), "float32")
    real = np.zeros((n, seq_len + 1), "int32")
    for i, (row_ids, row_weights) in enumerate(rows):
        length = min(len(row_ids), seq_len + 1)
        ids[i, :length] = row_ids[:length]
        weights[i, :length] = row_weights[:length]
        real[i, :length] = 1
    kept = weights[:, 1:].sum(axis=1) > 0
    if not kept.any():
        raise UsageError(
            f"No assistant token falls inside --seq-len {seq_len}: every reply was cut off; use a longer --seq-len."
        )
    ids, weights, real = ids[kept], weights[kept], real[kept]
    x = {"token_ids": ids[:, :-1], "padding_mask": real[:, :-1]}
    return x, ids[:, 1:], weights[:, 1:]


def reply_loss(model, x, y, sample_weight, batch_size=32):
    """Mean cross-entropy per assistant token (the SFT objective) of a causal LM on these arrays."""
    import keras
    from keras import ops

    total, count = 0.0, 0.0
    for start in range(0, len(y), batch_size):
        part = slice(start, start + batch_size)
        logits = model({k: v[part] for k, v in x.items()}, training=False)
        losses = keras.losses.sparse_categorical_crossentropy(y[part], logits, from_logits=True)
        total += float(ops.sum(losses * sample_weight[part]))
        count += float(sample_weight[part].sum())
    return total / max(count, 1.0)
