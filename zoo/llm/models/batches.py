"""Turn token-id arrays into the (x, y, sample_weight) that each task's `fit()` expects.

Plain numpy, so the same functions serve tests, recipes and tf.data `map`s over
numpy batches. Padding (id `pad_id`) never counts in the loss: its sample
weight is 0.

Example:
    >>> import numpy as np
    >>> x, y, w = causal_lm_batch(np.array([[5, 6, 7, 0]]))
    >>> x["token_ids"].tolist(), y.tolist(), w.tolist()
    ([[5, 6, 7]], [[6, 7, 0]], [[1.0, 1.0, 0.0]])
"""

import numpy as np


def causal_lm_batch(token_ids, pad_id=0):
    """Inputs are tokens[:-1], labels tokens[1:] (predict the next token)."""
    token_ids = _ids(token_ids, min_len=2)
    inputs, labels = token_ids[:, :-1], token_ids[:, 1:]
    x = {"token_ids": inputs, "padding_mask": (inputs != pad_id).astype("int32")}
    return x, labels, (labels != pad_id).astype("float32")


def seq2seq_batch(source_ids, target_ids, pad_id=0):
    """Teacher forcing: the decoder reads target[:-1] (starting with BOS) and predicts target[1:]."""
    source_ids = _ids(source_ids, min_len=1)
    target_ids = _ids(target_ids, min_len=2)
    if len(source_ids) != len(target_ids):
        raise ValueError(f"Got {len(source_ids)} sources but {len(target_ids)} targets.")
    decoder_in, labels = target_ids[:, :-1], target_ids[:, 1:]
    x = {
        "encoder_token_ids": source_ids,
        "encoder_padding_mask": (source_ids != pad_id).astype("int32"),
        "decoder_token_ids": decoder_in,
        "decoder_padding_mask": (decoder_in != pad_id).astype("int32"),
    }
    return x, labels, (labels != pad_id).astype("float32")


def masked_lm_batch(token_ids, mask_token_id, num_masked, vocab_size, pad_id=0, special_ids=(), seed=None):
    """BERT's masking: pick `num_masked` real tokens per row; 80% become [MASK], 10% a
    random token, 10% stay. Returns x (with mask_positions), labels and weights.

    Rows with fewer maskable tokens than `num_masked` get weight 0 on the rest.
    """
    token_ids = _ids(token_ids, min_len=1)
    rng = np.random.default_rng(seed)
    batch = len(token_ids)
    positions = np.zeros((batch, num_masked), "int32")
    weights = np.zeros((batch, num_masked), "float32")
    masked = token_ids.copy()
    for i, row in enumerate(token_ids):
        candidates = [j for j, t in enumerate(row) if t != pad_id and t not in special_ids]
        chosen = np.sort(rng.permutation(candidates)[:num_masked]) if candidates else np.array([], "int64")
        positions[i, : len(chosen)] = chosen
        weights[i, : len(chosen)] = 1.0
        for j in chosen:
            roll = rng.random()
            if roll < 0.8:
                masked[i, j] = mask_token_id
            elif roll < 0.9:
                masked[i, j] = rng.integers(0, vocab_size)
    labels = np.take_along_axis(token_ids, positions, axis=1)
    x = {
        "token_ids": masked,
        "padding_mask": (token_ids != pad_id).astype("int32"),
        "mask_positions": positions,
    }
    return x, labels, weights


def _ids(values, min_len):
    array = np.asarray(values)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"Expected a 2-D integer array [batch, seq], got shape {array.shape} dtype {array.dtype}.")
    if array.shape[1] < min_len:
        raise ValueError(f"Sequences need at least {min_len} tokens, got {array.shape[1]}.")
    return array.astype("int32")
