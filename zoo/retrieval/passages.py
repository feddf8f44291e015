"""Passages: the units a store retrieves, fixed token windows with overlap.

A document longer than one window is cut into windows of `window` tokens that
start every `stride` tokens (stride < window: consecutive windows overlap by
`window - stride` tokens, so a fact cut at a window edge is still whole in the
next one). A document shorter than a window is one passage. Every passage keeps
its token ids (BM25 terms, encoder input), its text and where it came from.

Sources: a corpus folder written by `zoo data prepare` (its shards), a text or
JSONL file, a folder of such files, or a list of strings.

Example:
    >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
    >>> from zoo.data.special_tokens import SPECIAL_TOKENS
    >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["the", "cat", "sat", "on", "mat"])
    >>> ps = make_passages(["the cat sat on the mat"], tok, window=4, stride=2)
    >>> [p.text for p in ps]
    ['the cat sat on', 'sat on the mat']
"""

import dataclasses
from pathlib import Path

import numpy as np

from zoo.retrieval.errors import EmptyStoreError


@dataclasses.dataclass
class Passage:
    """One retrievable window: its index in the store, source document, first token and content."""

    index: int
    doc: int
    start: int
    token_ids: np.ndarray
    text: str
    source: str = ""

    def to_dict(self):
        return {"index": self.index, "doc": self.doc, "start": self.start, "text": self.text, "source": self.source}


def read_texts(source, text_field="text"):
    """Return (texts, sources) from a corpus folder, a .txt/.md/.jsonl file, a folder of them, or strings.

    Example:
        >>> read_texts(["a b", "c"])
        (['a b', 'c'], ['text[0]', 'text[1]'])
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist; give a corpus folder from `zoo data prepare`, "
                "a .txt/.md/.jsonl file or a folder of them"
            )
        if path.is_dir() and (path / "shards").is_dir():
            from zoo.data.shards import read_shards

            docs = list(read_shards(path))
            return [d.text for d in docs], [d.source or d.id for d in docs]
        from zoo.data.acquire import acquire_paths

        docs = acquire_paths([path], text_field=text_field, progress=False).documents
        return [d.text for d in docs], [d.source for d in docs]
    texts = [getattr(item, "text", item) for item in source]
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be strings, Documents, a corpus folder or a text file/folder")
    return texts, [f"text[{i}]" for i in range(len(texts))]


def window_starts(length, window, stride):
    """Start offsets of the windows over `length` tokens; the last window ends at the end.

    Example:
        >>> window_starts(10, 4, 3)
        [0, 3, 6]
        >>> window_starts(3, 4, 3)
        [0]
    """
    if length <= window:
        return [0]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:  # the tail would be lost: one more window, flush with the end
        starts.append(length - window)
    return starts


def check_window(window, stride):
    """Raise a clear ValueError for a window/stride pair that cannot cut passages.

    Example:
        >>> check_window(8, 10)
        Traceback (most recent call last):
        ...
        ValueError: stride must be between 1 and window (8), got 10; overlap = window - stride
    """
    if window < 1:
        raise ValueError(f"window must be at least 1 token, got {window}")
    if not 1 <= stride <= window:
        raise ValueError(f"stride must be between 1 and window ({window}), got {stride}; overlap = window - stride")


def tokenize_texts(texts, tokenizer, batch_size=256):
    """Token ids of each text as a list of int32 numpy arrays (one tokenizer call per batch).

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["a", "b"])
        >>> [x.tolist() for x in tokenize_texts(["a b", "b"], tok)]
        [[7, 8], [8]]
    """
    out = []
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[i : i + batch_size]))
        if hasattr(batch, "to_list"):
            rows = batch.to_list()
        elif isinstance(batch, (list, tuple)):
            rows = [np.asarray(row).tolist() for row in batch]
        else:
            rows = np.asarray(batch).tolist()
        out.extend(np.asarray(row, dtype=np.int32) for row in rows)
    return out


def make_passages(texts, tokenizer, window=128, stride=96, sources=None):
    """Cut texts into overlapping token windows; return a list of Passage.

    Example:
        >>> make_passages([], None)
        Traceback (most recent call last):
        ...
        zoo.retrieval.errors.EmptyStoreError: no text to build passages from: the corpus is empty
    """
    check_window(window, stride)
    kept = [(i, t) for i, t in enumerate(texts) if t and t.strip()]
    if not kept:
        raise EmptyStoreError("no text to build passages from: the corpus is empty")
    sources = sources or [f"text[{i}]" for i in range(len(texts))]
    ids = tokenize_texts([t for _, t in kept], tokenizer)
    passages = []
    for (doc, _), tokens in zip(kept, ids):
        if len(tokens) == 0:
            continue
        for start in window_starts(len(tokens), window, stride):
            piece = tokens[start : start + window]
            passages.append(Passage(len(passages), doc, start, piece, "", sources[doc]))
    # Texts detokenized in batches: one call per passage is slow for 10k+ passages.
    for i in range(0, len(passages), 512):
        chunk = passages[i : i + 512]
        texts_out = detokenize_many(tokenizer, [p.token_ids for p in chunk])
        for p, text in zip(chunk, texts_out):
            p.text = text
    return passages


def detokenize_many(tokenizer, rows):
    """Detokenize a list of id arrays to strings.

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["a", "b"])
        >>> detokenize_many(tok, [[7, 8], [8]])
        ['a b', 'b']
    """
    import tensorflow as tf

    if not rows:
        return []
    ragged = tf.ragged.constant([list(map(int, r)) for r in rows], dtype="int32")
    out = tokenizer.detokenize(ragged)
    out = out.numpy() if hasattr(out, "numpy") else np.asarray(out)
    return [s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s) for s in out.tolist()]
