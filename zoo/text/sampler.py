"""Text generation with a next-token model such as the tutorial's LSTM.

Each step feeds the last `sequence_length` ids, turns the predicted probabilities
into a sample (temperature 0 = greedy; higher = more varied), and appends it.

Example:
    >>> from zoo import build_lstm_generator
    >>> from zoo.text.vocabulary import TextVocabulary
    >>> vocab = TextVocabulary("char").fit(["The cat sat on the mat."])
    >>> model = build_lstm_generator(vocab.size, sequence_length=8)     # train it first
    >>> len(sample_text(model, vocab, seed_text="The ", length=20, temperature=0.7, seed=0))
    24
"""

import numpy as np


def apply_temperature(probabilities, temperature, rng):
    """Pick one id from a probability vector: argmax at temperature 0, else sample from p^(1/T)."""
    probabilities = np.asarray(probabilities, dtype="float64")
    if temperature == 0:
        return int(np.argmax(probabilities))
    logits = np.log(np.maximum(probabilities, 1e-12)) / temperature
    logits -= logits.max()
    p = np.exp(logits)
    p /= p.sum()
    return int(rng.choice(len(p), p=p))


def sample_text(model, vocabulary, seed_text, length=200, temperature=1.0, seed=None):
    """Generate `length` tokens after `seed_text`; returns seed text plus the generated text.

    Args:
        model: a next-token model with input shape (batch, sequence_length) that outputs probabilities.
        vocabulary: the `TextVocabulary` the model was trained with.
        seed_text: the prompt; must contain at least one known token. Shorter prompts are left-padded.
        length: number of tokens to generate.
        temperature: 0 for greedy decoding, 1 to sample from the model, <1 for safer text.
        seed: random seed, for repeatable samples.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 means greedy), got {temperature}.")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}.")
    ids = vocabulary.encode(seed_text)
    if not ids:
        raise ValueError("seed_text is empty after tokenization; give a prompt of at least one token.")
    sequence_length = model.input_shape[1]
    rng = np.random.default_rng(seed)
    generated = []
    for _ in range(length):
        window = (ids + generated)[-sequence_length:]
        window = [0] * (sequence_length - len(window)) + window  # left-pad short prompts with [PAD]
        probabilities = model.predict_on_batch(np.asarray([window], dtype="int32"))[0]
        probabilities = np.asarray(probabilities)
        probabilities[:2] = 0.0  # never emit padding or [UNK]: neither is text
        generated.append(apply_temperature(probabilities / probabilities.sum(), temperature, rng))
    prompt = vocabulary.decode(ids)
    continuation = vocabulary.decode(generated)
    if vocabulary.level == "word" and continuation:
        return f"{prompt} {continuation}"
    return prompt + continuation
