"""tf.data input pipelines for language-model training: CLM, MLM and NSP.

All three take a list of texts (or a corpus folder) and a zoo tokenizer (see
`zoo.data.tokenizer`, special ids fixed: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
[MASK]=4 <s>=5 </s>=6) and return a `tf.data.Dataset` that `model.fit()` can
take directly. Work that is the same every epoch (tokenizing, packing) is
cached; work that must differ every epoch (shuffling, MLM masking) comes after
the cache. Everything random takes a seed, so two runs with one seed give the
same batches.

- `clm_dataset`: causal LM. Documents are tokenized, joined with `</s>` between
  them, and cut into windows of `sequence_length + 1` tokens; inputs are the
  first `sequence_length`, labels the same window shifted by one.
- `mlm_dataset`: masked LM (BERT). Windows of `[CLS] ... [SEP]`, then
  keras-hub's `MaskedLMMaskGenerator` (seeded) picks 15 % of the tokens each
  epoch and replaces 80 % of them with [MASK], 10 % with a random token, 10 %
  unchanged; special tokens are never picked.
- `nsp_dataset`: next-sentence prediction. `nsp_pairs` builds (A, B, label)
  pairs, half with B the true next segment (label 1) and half with B from
  another document (label 0); they are packed as `[CLS] A [SEP] B [SEP]`.
- `split_documents`: a train/validation split by document (never inside one),
  stable under a seed.
- `corpus_datasets`: all of it for a folder written by `zoo data prepare`:
  (train, validation, tokenizer) in one call.

Example:
    >>> from zoo.data.tokenizer import train_tokenizer
    >>> from zoo.data.builtin_corpus import load_builtin_corpus
    >>> texts = load_builtin_corpus()[:10] + ["吾輩は猫である。名前はまだ無い。"]
    >>> tok = train_tokenizer(texts, vocab_size=500)
    >>> x, y = next(iter(clm_dataset(texts, tok, sequence_length=16, batch_size=2)))
    >>> x.shape, bool((x[:, 1:] == y[:, :-1]).numpy().all())
    (TensorShape([2, 16]), True)
"""

import hashlib
import math
import random
import re
from pathlib import Path

import tensorflow as tf

from zoo.data.masking import SeededMaskedLMMaskGenerator

_SEGMENT_RE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")
_TOKENIZE_BATCH = 256


def corpus_texts(source):
    """Return texts from a list of strings/Documents, or from a corpus folder (its shards).

    Example:
        >>> corpus_texts(["a", "b"])
        ['a', 'b']
    """
    if isinstance(source, (str, Path)):
        from zoo.data.shards import read_shards

        return [doc.text for doc in read_shards(Path(source))]
    texts = [getattr(item, "text", item) for item in source]
    if not all(isinstance(text, str) for text in texts):
        raise TypeError("texts must be strings, Documents or a corpus folder path")
    return texts


def split_documents(texts, validation_fraction=0.1, seed=0):
    """Split texts into (train, validation) by document; the same seed gives the same split.

    Each document goes by a hash of its text and the seed, so adding documents
    later does not move the ones already there.

    Example:
        >>> train, val = split_documents([f"doc {i}" for i in range(100)], 0.2, seed=1)
        >>> len(train) + len(val), 10 < len(val) < 30
        (100, True)
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    texts = corpus_texts(texts)
    train, val = [], []
    for text in texts:
        digest = hashlib.sha256(f"{seed}\x00{text}".encode("utf-8", "surrogatepass")).digest()
        (val if int.from_bytes(digest[:8], "big") / 2**64 < validation_fraction else train).append(text)
    if validation_fraction > 0 and not val and len(train) > 1:
        val.append(train.pop())  # a tiny corpus still gets a validation document
    return train, val


def _tokens_stream(texts, tokenizer, separator_id, start_id=None):
    """Dataset of scalar token ids: every document tokenized, `start_id` before and `separator_id` after each one."""
    if not texts:
        raise ValueError("no texts to build a dataset from: the corpus (or this split of it) is empty")
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(_TOKENIZE_BATCH)

    def tokenize(batch):
        tokens = tokenizer(batch)
        if not isinstance(tokens, tf.RaggedTensor):
            tokens = tf.RaggedTensor.from_tensor(tokens)
        tokens = tf.cast(tokens, "int32")
        if start_id is not None:
            start = tf.RaggedTensor.from_tensor(tf.fill([tokens.nrows(), 1], tf.constant(start_id, "int32")))
            tokens = tf.concat([start, tokens], axis=1)
        if separator_id is not None:
            sep = tf.RaggedTensor.from_tensor(tf.fill([tokens.nrows(), 1], tf.constant(separator_id, "int32")))
            tokens = tf.concat([tokens, sep], axis=1)
        return tokens.flat_values

    return ds.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()


def _finish(ds, batch_size, shuffle, seed, shuffle_buffer, drop_remainder=True):
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder)


def clm_dataset(
    texts,
    tokenizer,
    sequence_length=128,
    batch_size=8,
    shuffle=True,
    seed=0,
    cache=True,
    shuffle_buffer=10_000,
    start_id=None,
):
    """Return a dataset of (inputs, labels), both int32 [batch_size, sequence_length], labels shifted by one.

    Documents are separated by the tokenizer's end token (`</s>`), so the model
    learns where a document stops; `start_id` (a checkpoint's own <s>, say) also
    goes before each one. The last partial window and batch are dropped.

    Example:
        >>> from zoo.data.builtin_corpus import load_builtin_corpus
        >>> from zoo.data.tokenizer import train_tokenizer
        >>> texts = load_builtin_corpus()[:10]
        >>> tok = train_tokenizer(texts, vocab_size=500)
        >>> x, y = next(iter(clm_dataset(texts, tok, sequence_length=8, batch_size=4)))
        >>> x.shape, y.shape
        (TensorShape([4, 8]), TensorShape([4, 8]))
    """
    if sequence_length < 2 or batch_size < 1:
        raise ValueError(f"need sequence_length >= 2 and batch_size >= 1, got {sequence_length}, {batch_size}")
    texts = corpus_texts(texts)
    ds = _tokens_stream(texts, tokenizer, getattr(tokenizer, "end_token_id", None), start_id)
    ds = ds.batch(sequence_length + 1, drop_remainder=True)
    ds = ds.map(lambda window: (window[:-1], window[1:]), num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    return _finish(ds, batch_size, shuffle, seed, shuffle_buffer).prefetch(tf.data.AUTOTUNE)


def mlm_dataset(
    texts,
    tokenizer,
    sequence_length=128,
    batch_size=8,
    mask_rate=0.15,
    max_predictions=None,
    shuffle=True,
    seed=0,
    cache=True,
    shuffle_buffer=10_000,
):
    """Return a masked-LM dataset in keras-hub's BertMaskedLM format: (x, mask_ids, mask_weights).

    `x` has "token_ids" ([CLS] ... [SEP], masked), "padding_mask", "segment_ids"
    and "mask_positions"; `mask_ids` are the original tokens at those positions.
    Masks are drawn anew every epoch (dynamic masking, as RoBERTa does) with
    80/10/10 mask/random/keep; special tokens are never selected. The masking
    is keras-hub's `MaskedLMMaskGenerator` fed by a generator seeded with `seed`
    (see `zoo.data.masking`): new masks each epoch, the same ones in every run.

    Example:
        >>> from zoo.data.builtin_corpus import load_builtin_corpus
        >>> from zoo.data.tokenizer import train_tokenizer
        >>> texts = load_builtin_corpus()[:10]
        >>> tok = train_tokenizer(texts, vocab_size=500)
        >>> x, ids, weights = next(iter(mlm_dataset(texts, tok, 16, 2)))
        >>> sorted(x), x["token_ids"].shape, ids.shape
        (['mask_positions', 'padding_mask', 'segment_ids', 'token_ids'], TensorShape([2, 16]), TensorShape([2, 3]))
    """
    import keras_hub

    if sequence_length < 4:
        raise ValueError(f"sequence_length must be at least 4 for [CLS] x [SEP], got {sequence_length}")
    if not 0.0 < mask_rate < 1.0:
        raise ValueError(f"mask_rate must be in (0, 1), got {mask_rate}")
    texts = corpus_texts(texts)
    max_predictions = max_predictions or math.ceil(sequence_length * mask_rate)
    packer = keras_hub.layers.StartEndPacker(
        sequence_length=sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
    )
    ds = _tokens_stream(texts, tokenizer, tokenizer.sep_token_id)
    # Last window kept (padded): in MLM a short window is still a fine example.
    ds = ds.batch(sequence_length - 2).map(packer, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    ds = _finish(ds, batch_size, shuffle, seed, shuffle_buffer)
    masker = SeededMaskedLMMaskGenerator(
        seed=seed,
        vocabulary_size=tokenizer.vocabulary_size(),
        mask_selection_rate=mask_rate,
        mask_token_id=tokenizer.mask_token_id,
        mask_selection_length=max_predictions,
        unselectable_token_ids=sorted(set(tokenizer.special_token_ids)),
        mask_token_rate=0.8,
        random_token_rate=0.1,
    )
    pad_id = tokenizer.pad_token_id

    def mask(token_ids):
        out = masker(token_ids)
        x = {
            "token_ids": out["token_ids"],
            "padding_mask": token_ids != pad_id,
            "segment_ids": tf.zeros_like(token_ids),
            "mask_positions": out["mask_positions"],
        }
        return x, out["mask_ids"], out["mask_weights"]

    # Masking after the cache and the shuffle, so cached windows get fresh masks. One call at a
    # time: parallel calls would take draws from the shared generator in thread order.
    return ds.map(mask).prefetch(tf.data.AUTOTUNE)


def split_segments(text):
    """Split a document into sentence-like segments (English punctuation, Japanese 。！？, newlines).

    Example:
        >>> split_segments("One. Two!\\n三です。四です。")
        ['One.', 'Two!', '三です。', '四です。']
    """
    return [part.strip() for part in _SEGMENT_RE.split(text) if part and part.strip()]


def nsp_pairs(texts, seed=0, min_segments=2):
    """Return NSP pairs [(a, b, label)]: label 1 when b follows a in its document, 0 when b is from another.

    Half the pairs (by a seeded coin) are random; a random b never comes from a's document.

    Example:
        >>> pairs = nsp_pairs(["A1. A2. A3.", "B1. B2.", "C1. C2."], seed=0)
        >>> all(b == "A2." for a, b, label in pairs if a == "A1." and label == 1)
        True
    """
    texts = corpus_texts(texts)
    docs = [segments for segments in map(split_segments, texts) if len(segments) >= min_segments]
    if len(docs) < 2:
        raise ValueError(
            f"NSP needs at least 2 documents with {min_segments}+ sentences each, found {len(docs)}; "
            "give more or longer documents"
        )
    rng = random.Random(seed)
    pairs = []
    for index, segments in enumerate(docs):
        for i in range(len(segments) - 1):
            if rng.random() < 0.5:
                pairs.append((segments[i], segments[i + 1], 1))
            else:
                other = rng.randrange(len(docs) - 1)
                other += other >= index  # any document but this one
                pairs.append((segments[i], rng.choice(docs[other]), 0))
    return pairs


def nsp_dataset(
    texts, tokenizer, sequence_length=128, batch_size=8, shuffle=True, seed=0, cache=True, shuffle_buffer=10_000
):
    """Return (x, label) batches for next-sentence prediction, x = token_ids/segment_ids/padding_mask.

    Example:
        >>> from zoo.data.builtin_corpus import load_builtin_corpus
        >>> from zoo.data.tokenizer import train_tokenizer
        >>> texts = load_builtin_corpus()[:10]
        >>> tok = train_tokenizer(texts, vocab_size=500)
        >>> x, label = next(iter(nsp_dataset(texts, tok, sequence_length=24, batch_size=4)))
        >>> int(x["token_ids"][0, 0]) == tok.cls_token_id, x["segment_ids"].shape, label.shape
        (True, TensorShape([4, 24]), TensorShape([4]))
    """
    import keras_hub

    pairs = nsp_pairs(texts, seed=seed)
    first, second, labels = (list(column) for column in zip(*pairs))
    packer = keras_hub.layers.MultiSegmentPacker(
        sequence_length=sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
        truncate="round_robin",
    )
    pad_id = tokenizer.pad_token_id

    def pack(a, b, label):
        token_ids, segment_ids = packer((tf.cast(tokenizer(a), "int32"), tf.cast(tokenizer(b), "int32")))
        x = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": token_ids != pad_id}
        return x, label

    ds = tf.data.Dataset.from_tensor_slices((first, second, tf.constant(labels, "int32")))
    ds = ds.batch(_TOKENIZE_BATCH).map(pack, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
    if cache:
        ds = ds.cache()
    return _finish(ds, batch_size, shuffle, seed, shuffle_buffer).prefetch(tf.data.AUTOTUNE)


_BUILDERS = {"clm": clm_dataset, "mlm": mlm_dataset, "nsp": nsp_dataset}


def corpus_datasets(folder, task="clm", sequence_length=128, batch_size=8, validation_fraction=0.1, seed=0, **options):
    """Return (train, validation, tokenizer) for a corpus folder written by `zoo data prepare`.

    `task` is "clm", "mlm" or "nsp"; the split is by document; the validation
    set is not shuffled. Extra `options` go to the dataset builder (e.g. `cache`,
    `mask_rate` for MLM).

    Example:
        >>> train, val, tok = corpus_datasets("data/corpus-builtin", "clm", 128, 16)  # doctest: +SKIP
        >>> model.fit(train, validation_data=val, epochs=3)                           # doctest: +SKIP
    """
    from zoo.data.tokenizer import load_tokenizer

    if task not in _BUILDERS:
        raise ValueError(f"task must be one of {', '.join(_BUILDERS)}, got {task!r}")
    folder = Path(folder)
    tokenizer = load_tokenizer(folder / "tokenizer")
    train_texts, val_texts = split_documents(folder, validation_fraction, seed=seed)
    build = _BUILDERS[task]
    train = build(train_texts, tokenizer, sequence_length, batch_size, seed=seed, **options)
    validation = None
    if val_texts:
        validation = build(val_texts, tokenizer, sequence_length, batch_size, shuffle=False, seed=seed, **options)
    return train, validation, tokenizer
