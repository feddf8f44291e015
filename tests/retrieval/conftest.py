"""Small shared data for the retrieval tests: a SentencePiece tokenizer and a corpus folder."""

import pytest

TEXTS = [
    "The capital of Veltria is Orsk. Veltria is a small country with many rivers.",
    "A for loop iterates over the items of a sequence in order.",
    "The while statement repeats a block as long as a condition is true.",
    "Dictionaries map keys to values; a key must be hashable.",
    "Strings are immutable sequences of Unicode code points.",
    "The national animal of Brinia is the otter. Brinia was founded in 1716.",
]


@pytest.fixture(scope="session")
def tokenizer():
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.tokenizer import train_tokenizer

    return train_tokenizer(load_builtin_corpus()[:12] + TEXTS * 3, vocab_size=400)


@pytest.fixture(scope="session")
def other_tokenizer():
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.tokenizer import train_tokenizer

    return train_tokenizer(load_builtin_corpus()[20:30], vocab_size=380)


@pytest.fixture(scope="session")
def corpus_folder(tmp_path_factory, tokenizer):
    """A folder laid out as `zoo data prepare` writes it: shards/ and tokenizer/."""
    from zoo.data.document import Document
    from zoo.data.shards import write_shards
    from zoo.data.tokenizer import save_tokenizer

    folder = tmp_path_factory.mktemp("corpus")
    write_shards([Document(id=str(i), text=t, source=f"doc{i}") for i, t in enumerate(TEXTS)], folder / "shards")
    save_tokenizer(tokenizer, folder / "tokenizer")
    return folder


def tiny_llm(kind, vocab_size, seed=0):
    import keras

    from zoo.llm import build_llm

    keras.utils.set_random_seed(seed)
    return build_llm(
        kind,
        "tiny",
        vocab_size=vocab_size,
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        max_length=128,
        compile=False,
    )
