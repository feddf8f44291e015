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
        texts += [r["texts"][0] for r in read_classification(dataset_path("sentiment", language, "train"), ("text",),
                                                              SENTIMENT_LABELS)]
    return train_tokenizer(texts, vocab_size=800)
