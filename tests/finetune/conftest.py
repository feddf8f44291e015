"""A SentencePiece tokenizer that knows the shipped English and Japanese texts, shared by the fine-tuning tests."""

import pytest


@pytest.fixture(scope="session")
def bilingual_tokenizer():
    """Trained on the shipped QA and sentiment training texts of both languages (vocabulary 800)."""
    from zoo.data.tokenizer import train_tokenizer
    from zoo.finetune.datasets import dataset_path
    from zoo.finetune.formats import SENTIMENT_LABELS, read_classification, read_squad

    texts = []
    for language in ("en", "ja"):
        questions = read_squad(dataset_path("qa", language, "train"))
        texts += list(dict.fromkeys(q["context"] for q in questions)) + [q["question"] for q in questions]
        texts += [
            r["texts"][0]
            for r in read_classification(dataset_path("sentiment", language, "train"), ("text",), SENTIMENT_LABELS)
        ]
    return train_tokenizer(texts, vocab_size=800)


# One block of width 16: the end-to-end recipe tests take seconds.
TINY = dict(max_length=128, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32, num_segments=2)


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory):
    """An LLMConfig JSON file for --preset: the tiny preset cut to one block of width 16."""
    from zoo.llm.models.factory import resolve_config

    path = tmp_path_factory.mktemp("config") / "tiny16.json"
    resolve_config("tiny", **TINY).save(path)
    return path


@pytest.fixture(scope="session")
def mlm_run(tmp_path_factory, bilingual_tokenizer):
    """A folder like a pretrain-mlm run: model.keras (a tiny masked LM) and tokenizer/."""
    from zoo.data.tokenizer import save_tokenizer
    from zoo.llm import build_llm

    folder = tmp_path_factory.mktemp("pretrain-mlm-run")
    model = build_llm("masked", "tiny", vocab_size=bilingual_tokenizer.vocabulary_size(), compile=False, **TINY)
    model.save(folder / "model.keras")
    save_tokenizer(bilingual_tokenizer, folder / "tokenizer")
    return folder, model
