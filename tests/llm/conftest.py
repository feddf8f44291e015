"""Inputs shared by the LLM tests; the tiny configuration is the harness's (CPU: width 16, one layer)."""

import numpy as np
import pytest

from tests.harness import SEQ, TINY  # noqa: F401  (re-exported for the LLM tests)


def inputs_for(kind, batch=4, seq=SEQ, vocab=64, seed=0, segments=False):
    """Random model inputs for a task kind, with the last two positions of row 0 padded."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (batch, seq)).astype("int32")
    mask = np.ones_like(ids)
    mask[0, -2:] = 0
    ids[0, -2:] = 0
    if kind == "seq2seq":
        return {
            "encoder_token_ids": ids,
            "encoder_padding_mask": mask,
            "decoder_token_ids": ids[:, ::-1].copy(),
            "decoder_padding_mask": np.ones_like(ids),
        }
    x = {"token_ids": ids, "padding_mask": mask}
    if segments:
        x["segment_ids"] = (np.arange(seq)[None, :] >= seq // 2).astype("int32").repeat(batch, 0)
    if kind == "masked":
        x["mask_positions"] = np.tile(np.array([[1, 3]], "int32"), (batch, 1))
    return x


@pytest.fixture(scope="session")
def tiny():
    return dict(TINY)
