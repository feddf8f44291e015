"""Shared tiny checkpoints for the checkpoint tests (written once per session: tokenizer training takes a moment)."""

import pytest

from tests.checkpoints import writers


@pytest.fixture(scope="session")
def tokenizer_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenizers")
    return {
        "bpe": (root / "bpe", writers.byte_bpe_tokenizer(root / "bpe")),
        "wordpiece": (root / "wordpiece", writers.wordpiece_tokenizer(root / "wordpiece")),
        "sentencepiece": (root / "sentencepiece", writers.sentencepiece_tokenizer(root / "sentencepiece")),
    }


def copy_tokenizer(tokenizer_folders, kind, folder):
    import shutil

    source, tokenizer = tokenizer_folders[kind]
    folder.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        shutil.copy(file, folder / file.name)
    return tokenizer
