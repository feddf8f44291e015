"""A corpus folder as next-token training data: prepare it, split it, window it, stream it.

A corpus folder comes from `zoo data prepare` (shards/ + tokenizer/). The default
folder is prepared from the built-in corpus on first use, so every recipe runs
offline. Training reads an endless stream of shuffled windows whose order depends
only on the seed, so a resumed run sees exactly the batches an uninterrupted run saw.

Example:
    >>> folder = ensure_corpus(DEFAULT_DATA)                       # doctest: +SKIP
    >>> train, val, tokenizer = clm_splits(folder, 64, 16, 0.1, seed=0)  # doctest: +SKIP
    >>> x, y = training_windows(train)                              # doctest: +SKIP
    >>> stream = training_stream(x, y, batch_size=16, seed=0)       # doctest: +SKIP
"""

import os
from pathlib import Path

from zoo.errors import UsageError

DEFAULT_DATA = os.path.join("data", "corpus-builtin")


def ensure_corpus(folder, log=print):
    """Return the corpus folder as a Path; prepare the built-in corpus there when it is the default and missing."""
    folder = Path(folder)
    if (folder / "tokenizer" / "tokenizer.json").is_file() and (folder / "shards").is_dir():
        return folder
    if folder != Path(DEFAULT_DATA) and not str(folder).endswith("corpus-builtin"):
        raise UsageError(
            f"{folder} is not a corpus folder (no tokenizer/ and shards/); "
            f"make one with `zoo data prepare <your texts> --out {folder}`."
        )
    from zoo.data.prepare import PrepareConfig, prepare_corpus

    log(f"preparing the built-in corpus into {folder} (acquire, clean, dedup, tokenizer)")
    prepare_corpus(config=PrepareConfig(output=str(folder)), progress=True, log=log)
    return folder


def as_model_inputs(dataset):
    """(ids, labels) windows -> ({"token_ids", "padding_mask"}, labels); packed windows have no padding."""
    import tensorflow as tf

    return dataset.map(
        lambda x, y: ({"token_ids": x, "padding_mask": tf.ones_like(x)}, y), num_parallel_calls=tf.data.AUTOTUNE
    )


def known_length(dataset):
    """`dataset` with its number of batches stated (counted in one pass) when tf.data cannot tell it.

    Keras 3.15 on TensorFlow without XLA averages `evaluate()`'s loss and metrics (and so fit's
    val_loss) over one batch more than a dataset of unknown cardinality holds: the step that meets
    the end of the data is counted. A 6-batch validation set then reads 6/7 of its true loss. With
    the cardinality stated, Keras stops at the last batch and the mean is right.

    Example:
        >>> import tensorflow as tf
        >>> data = tf.data.Dataset.range(10).filter(lambda x: x < 7).batch(2)
        >>> int(data.cardinality()) < 0, int(known_length(data).cardinality())
        (True, 4)
    """
    import tensorflow as tf

    if int(dataset.cardinality()) >= 0 or int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        return dataset
    count = int(dataset.reduce(tf.constant(0, tf.int64), lambda count, *_: count + 1))
    return dataset.apply(tf.data.experimental.assert_cardinality(count))


def document_start_id(tokenizer):
    """The id to put before each document: a checkpoint tokenizer's start token, when apart from its end token.

    Llama's <s> is one; GPT-2's start and end are one token and Qwen2 has none. zoo's own tokenizers give
    None: their models were pretrained with only </s> between documents.

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer, SPECIAL_TOKENS
        >>> document_start_id(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS))) is None
        True
    """
    from zoo.data.tokenizer import tokenizer_kind

    try:
        tokenizer_kind(tokenizer)
        return None
    except TypeError:
        pass
    start, end = getattr(tokenizer, "start_token_id", None), getattr(tokenizer, "end_token_id", None)
    return None if start is None or start == end else int(start)


def clm_splits(folder, seq_len, batch_size, validation_fraction, seed, tokenizer=None):
    """(train, validation, tokenizer) of a corpus folder, split by document, both in corpus order.

    The documents are tokenized with the corpus's own tokenizer, or with `tokenizer` when given (the one a
    model was trained with, e.g. an imported checkpoint's; see `document_start_id` for how documents are framed).
    The training split stays unshuffled here: `training_stream` shuffles each pass itself.
    """
    from zoo.data.pipelines import clm_dataset, split_documents
    from zoo.data.tokenizer import load_tokenizer

    folder = Path(folder)
    if tokenizer is None:
        tokenizer = load_tokenizer(folder / "tokenizer")
    start_id = document_start_id(tokenizer)
    train_texts, val_texts = split_documents(folder, validation_fraction, seed=seed)
    if not val_texts:
        raise UsageError(f"{folder} has too few documents for a validation split; give more text.")
    train = clm_dataset(train_texts, tokenizer, seq_len, batch_size, shuffle=False, seed=seed, start_id=start_id)
    validation = clm_dataset(val_texts, tokenizer, seq_len, batch_size, shuffle=False, seed=seed, start_id=start_id)
    return train, validation, tokenizer


def training_windows(dataset):
    """All windows of a dataset as numpy arrays (inputs, labels), from one pass in its order."""
    import numpy as np

    xs, ys = [], []
    for x, y in dataset:
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    if not xs:
        raise UsageError(
            "The training split has no full batch: use a smaller --batch-size or --seq-len, or give more text."
        )
    return np.concatenate(xs), np.concatenate(ys)


def training_stream(inputs, labels, batch_size, seed):
    """An endless stream of shuffled model-input batches whose order depends only on the seed.

    Each pass over the windows is a stateless permutation keyed by (seed, pass), so
    `stream.skip(n)` in a resumed run sees exactly the batches an uninterrupted run
    saw after step n; tf.data's own reshuffling would depend on how many iterators
    were made before. The windows are held in memory (4 bytes per token, twice).
    """
    import tensorflow as tf

    inputs, labels = tf.constant(inputs), tf.constant(labels)
    count = int(inputs.shape[0])

    def one_pass(index):
        key = tf.stack([tf.constant(int(seed), tf.int64), index])
        return tf.data.Dataset.from_tensor_slices(tf.random.experimental.stateless_shuffle(tf.range(count), key))

    def gather(order):
        x = tf.gather(inputs, order)
        return {"token_ids": x, "padding_mask": tf.ones_like(x)}, tf.gather(labels, order)

    stream = tf.data.Dataset.range(2**62).flat_map(one_pass).batch(batch_size, drop_remainder=True)
    return stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def corpus_windows(data, seq_len, batch_size=16, validation_fraction=0.1, seed=0, eval_windows=0, tokenizer=None):
    """((train_x, train_y), (val_x, val_y), tokenizer): next-token windows of a corpus folder, split by document.

    The default folder is prepared from the built-in corpus on first use; `eval_windows` > 0 keeps only
    that many validation windows. `tokenizer` (default: the corpus's own) tokenizes the documents, so a
    model trained with another tokenizer (an imported checkpoint) reads the same text in its own ids.
    """
    folder = ensure_corpus(data)
    train_ds, val_ds, tokenizer = clm_splits(folder, seq_len, batch_size, validation_fraction, seed, tokenizer)
    train = training_windows(train_ds)
    val = training_windows(val_ds)
    if eval_windows:
        val = (val[0][:eval_windows], val[1][:eval_windows])
    return train, val, tokenizer
