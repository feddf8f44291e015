import numpy as np
import pytest

from tests.harness import run_model_saving_test
from zoo import build_lstm_generator
from zoo.text.lstm_generator import make_next_token_windows
from zoo.text.sampler import sample_text
from zoo.text.vocabulary import TextVocabulary


def test_parameter_count_equals_tutorial_architecture():
    vocab_size = 5000
    model = build_lstm_generator(vocab_size, sequence_length=40)
    embedding = vocab_size * 256
    lstm = 4 * (128 * (256 + 128) + 128)
    dense = 128 * vocab_size + vocab_size
    assert model.count_params() == embedding + lstm + dense == 2_122_120
    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "LSTM", "Dense"]
    assert model.output_shape == (None, vocab_size)


def _corpus():
    from zoo.data.builtin_corpus import load_builtin_corpus

    return "\n\n".join(load_builtin_corpus()[:12])


def test_short_fit_lowers_loss_on_real_text():
    vocab = TextVocabulary("char").fit([_corpus()])
    x, y = make_next_token_windows(vocab.encode(_corpus()), 20, stride=7, max_windows=1500)
    model = build_lstm_generator(vocab.size, sequence_length=20)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < before - 0.5  # starts near ln(vocab) ~ 4.6


def test_save_load_gives_identical_predictions():
    x = np.random.default_rng(0).integers(0, 50, size=(4, 10)).astype("int32")
    run_model_saving_test(build_lstm_generator(50, sequence_length=10), x)


def test_char_vocabulary_round_trips_english_and_japanese():
    text = "Hello, world! 初心者向けLLMトレーニング。"
    vocab = TextVocabulary("char").fit([text])
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.encode("z")[0] == 1  # unknown


def test_word_vocabulary_limits_size_and_marks_unknowns(tmp_path):
    vocab = TextVocabulary("word", max_size=5).fit(["a a a b b c d e"])
    assert vocab.size == 5 and vocab.tokens[2:] == ["a", "b", "c"]
    assert vocab.decode(vocab.encode("a b e")) == "a b [UNK]"
    path = tmp_path / "v.json"
    vocab.save(path)
    assert TextVocabulary.load(path).tokens == vocab.tokens


def test_windows_pair_each_window_with_its_next_token():
    x, y = make_next_token_windows(np.arange(10), 3, stride=2)
    np.testing.assert_array_equal(x[0], [0, 1, 2])
    assert y.tolist() == [3, 5, 7, 9]
    with pytest.raises(ValueError, match="needs more than sequence_length"):
        make_next_token_windows([1, 2, 3], 3)


def test_greedy_sampling_is_deterministic_and_temperature_sampling_is_seeded():
    vocab = TextVocabulary("char").fit(["abcabcabc"])
    model = build_lstm_generator(vocab.size, sequence_length=4)
    greedy = sample_text(model, vocab, "ab", length=8, temperature=0)
    assert greedy == sample_text(model, vocab, "ab", length=8, temperature=0)
    assert greedy.startswith("ab") and len(greedy) == 10
    a = sample_text(model, vocab, "ab", length=8, temperature=1.0, seed=3)
    assert a == sample_text(model, vocab, "ab", length=8, temperature=1.0, seed=3)
    with pytest.raises(ValueError, match="empty"):
        sample_text(model, vocab, "", length=3)
    with pytest.raises(ValueError, match="temperature"):
        sample_text(model, vocab, "ab", length=3, temperature=-1)


@pytest.mark.parametrize("bad", [0, 1, -5, 3.0])
def test_bad_vocab_size_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="vocab_size"):
        build_lstm_generator(bad)


def test_unknown_vocabulary_level_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of: char, word"):
        TextVocabulary("byte")
