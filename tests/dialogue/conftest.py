import pytest


@pytest.fixture(scope="session")
def small_tokenizer():
    """A SentencePiece tokenizer trained on the built-in corpus and the synthetic instructions."""
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.tokenizer import train_tokenizer
    from zoo.dialogue.base_model import conversation_texts
    from zoo.dialogue.formats import read_instructions
    from zoo.dialogue.synthetic import INSTRUCTIONS_FILE

    texts = load_builtin_corpus()[:30] + conversation_texts(read_instructions(INSTRUCTIONS_FILE)[:50])
    return train_tokenizer(texts, vocab_size=400)
