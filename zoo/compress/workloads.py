"""Small, offline models and data the compression recipes and benchmark work on.

Each returns a trained float32 Keras 3 model and its data, sized to train in seconds
to a minute on a CPU: the tutorial's CNN on scikit-learn's digits, the VGG16
transfer model on digits as 32x32 RGB, the LSTM generator on characters of the
built-in corpus, and a small causal LM on bytes of the built-in corpus (a byte
vocabulary needs no tokenizer training).

Example:
    >>> from zoo.compress.workloads import trained_cnn
    >>> model, (x_train, y_train), (x_test, y_test) = trained_cnn(epochs=5)   # doctest: +SKIP
"""

import time

import keras
import numpy as np


def digits(size=28, channels=1, seed=0):
    """((x_train, y_train), (x_test, y_test)) of scikit-learn's digits as size x size x channels images."""
    from zoo.data.digits import load_digits_28

    return load_digits_28(seed=seed, size=size, channels=channels)


def trained_cnn(epochs=10, batch_size=32, seed=0, verbose=0, **cnn_options):
    """The tutorial's CNN trained on digits: (model, train, test)."""
    from zoo.vision.cnn import build_cnn

    keras.utils.set_random_seed(seed)
    train, test = digits(seed=seed)
    model = build_cnn(**cnn_options)
    model.fit(*train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model, train, test


def trained_vgg16_transfer(epochs=3, batch_size=32, seed=0, weights=None, size=32, verbose=0, **options):
    """The VGG16 transfer model (frozen base, new head) trained on digits as size x size RGB: (model, train, test).

    weights=None (the default) gives an untrained base: no ImageNet file is downloaded here.
    """
    from zoo.vision.vgg16_transfer import build_vgg16_transfer

    keras.utils.set_random_seed(seed)
    train, test = digits(size=size, channels=3, seed=seed)
    model = build_vgg16_transfer(num_classes=10, weights=weights, input_shape=(size, size, 3), **options)
    model.fit(*train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model, train, test


def corpus_bytes(limit=None):
    """The built-in corpus as a uint8 array of UTF-8 bytes (ids 0-255)."""
    from zoo.data.builtin_corpus import builtin_corpus_text

    data = np.frombuffer(builtin_corpus_text().encode("utf-8"), dtype=np.uint8)
    return data[:limit] if limit else data


def trained_lstm(epochs=1, sequence_length=20, max_windows=4000, seed=0, verbose=0, **options):
    """The LSTM generator on built-in corpus bytes: (model, (x_train, y_train), (x_test, y_test))."""
    from zoo.text.lstm_generator import build_lstm_generator, make_next_token_windows

    keras.utils.set_random_seed(seed)
    ids = corpus_bytes(limit=(max_windows + sequence_length) * 4).astype("int32")
    x, y = make_next_token_windows(ids, sequence_length, stride=3, max_windows=max_windows)
    split = int(len(x) * 0.9)
    model = build_lstm_generator(256, sequence_length, **options)
    model.fit(x[:split], y[:split], epochs=epochs, batch_size=64, verbose=verbose)
    return model, (x[:split], y[:split]), (x[split:], y[split:])


def lm_windows(seq_len=64, limit=None):
    """(x, y, weights) next-byte windows of the built-in corpus, as zoo's causal LM takes them."""
    from zoo.llm.models.batches import causal_lm_batch

    data = corpus_bytes(limit).astype("int32") + 1  # 0 is padding in zoo's LM batches
    rows = len(data) // (seq_len + 1)
    windows = data[: rows * (seq_len + 1)].reshape(rows, seq_len + 1)
    return causal_lm_batch(windows)


def _take(batch, index):
    x, y, w = batch
    return {k: v[index] for k, v in x.items()}, y[index], w[index]


def trained_lm(steps=300, seq_len=64, batch_size=16, seed=0, verbose=0, limit=200_000, **overrides):
    """A small causal LM on built-in corpus bytes: (model, train batch, test batch); batches are (x, y, w)."""
    from zoo.llm import build_llm

    keras.utils.set_random_seed(seed)
    batch = lm_windows(seq_len, limit)
    n = len(batch[1])
    order = np.random.default_rng(seed).permutation(n)
    split = int(n * 0.9)
    train, test = _take(batch, order[:split]), _take(batch, order[split:])
    options = dict(
        vocab_size=257, max_length=max(seq_len, 64), num_layers=2, hidden_dim=64, num_heads=4, intermediate_dim=256
    )
    options.update(overrides)
    model = build_llm("causal", "tiny", learning_rate=3e-3, **options)
    epochs = max(1, int(np.ceil(steps * batch_size / len(train[1]))))
    steps_per_epoch = max(1, steps // epochs)
    model.fit(_repeat(train, batch_size, seed), epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose)
    return model, train, test


def _repeat(batch, batch_size, seed):
    x, y, w = batch
    rng = np.random.default_rng(seed)
    n = len(y)
    while True:
        index = rng.integers(0, n, batch_size)
        yield {k: v[index] for k, v in x.items()}, y[index], w[index]


def lm_fine_tune(model, train, steps, batch_size=16, seed=0, callbacks=(), verbose=0):
    """A short fine-tune of the LM (after pruning), `steps` batches."""
    return model.fit(
        _repeat(train, batch_size, seed),
        epochs=1,
        steps_per_epoch=max(1, steps),
        callbacks=list(callbacks),
        verbose=verbose,
    )


def perplexity(model, batch, batch_size=32):
    """exp(mean next-token cross-entropy) of a causal LM on (x, y, w)."""
    x, y, w = batch
    total = count = 0.0
    for start in range(0, len(y), batch_size):
        xs = {k: v[start : start + batch_size] for k, v in x.items()}
        logits = np.asarray(model(xs, training=False), dtype="float64")
        logits -= logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        picked = np.take_along_axis(log_probs, y[start : start + batch_size][..., None], -1)[..., 0]
        weights = w[start : start + batch_size]
        total += float(-(picked * weights).sum())
        count += float(weights.sum())
    return float(np.exp(total / max(count, 1.0)))


def keras_latency_ms(model, example, repeats=20, warmup=3):
    """Median milliseconds of one `predict_on_batch` call on `example` (a batch of one), after warm-up tracing."""
    for _ in range(warmup):
        model.predict_on_batch(example)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(example)
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))
