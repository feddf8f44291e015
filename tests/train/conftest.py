"""A small corpus folder (shards + tokenizer) and tiny model settings shared by the training tests."""

import numpy as np
import pytest

from tests.harness import TINY as HARNESS_TINY

# The shared tiny config at width 32 over a 300-token vocabulary (the corpus tokenizer's ids).
TINY = dict(HARNESS_TINY, vocab_size=300, max_length=32, hidden_dim=32, intermediate_dim=64)
# Recipe options that keep a whole pretraining run to a few seconds.
QUICK = [
    "--preset",
    "tiny",
    "--seq-len",
    "16",
    "--batch-size",
    "4",
    "--sample-tokens",
    "4",
    "--no-tensorboard",
    "--no-pictures",
    "--verbose",
    "0",
]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A corpus folder like `zoo data prepare` writes, from 30 built-in documents (vocabulary 400)."""
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.document import Document, document_id
    from zoo.data.shards import write_shards
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    texts = [text[:3000] for text in load_builtin_corpus()[:30]]
    folder = tmp_path_factory.mktemp("corpus")
    write_shards([Document(id=document_id("test", t), text=t, source="test") for t in texts], folder / "shards")
    save_tokenizer(train_tokenizer(texts, vocab_size=400), folder / "tokenizer")
    return folder


def lm_batch(batch=8, seq=16, vocab=300, seed=0):
    """Random (x, y) next-token data for a causal LM."""
    ids = np.random.default_rng(seed).integers(7, vocab, (batch, seq + 1)).astype("int32")
    return {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:]
