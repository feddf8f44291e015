"""BM25: the classic lexical ranking function (Robertson & Zaragoza 2009), written with numpy.

The score of passage d for query q sums, over the distinct query terms t found in d,

    idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))          (Lucene's idf: never negative)

with N passages, df(t) the passages containing t, |d| the passage length and avgdl
the mean length. Terms here are token ids of the store's tokenizer, so the same
index serves English and Japanese (SentencePiece needs no word segmenter).

The index is an inverted file in three flat arrays: `term_ptr` (CSR offsets by
term id), `post_docs` and `post_weight` (each posting's precomputed term weight
above), so a query is one `np.bincount` over the postings of its terms.

Example:
    >>> index = BM25Index.build([[1, 2], [2, 3, 3]], vocab_size=4)
    >>> [int(i) for i in index.search([3], k=1)[0]]
    [1]
"""

import numpy as np

from zoo.retrieval.errors import EmptyStoreError, check_k


class BM25Index:
    """An inverted index of token-id passages scored with Okapi BM25.

    Example:
        >>> index = BM25Index.build([[5, 6], [6, 7]], vocab_size=8)
        >>> round(float(index.scores([5])[0]), 4) > 0, float(index.scores([5])[1])
        (True, 0.0)
    """

    def __init__(self, term_ptr, post_docs, post_tf, doc_len, k1=1.5, b=0.75):
        self.term_ptr = np.asarray(term_ptr, np.int64)
        self.post_docs = np.asarray(post_docs, np.int32)
        self.post_tf = np.asarray(post_tf, np.float32)
        self.doc_len = np.asarray(doc_len, np.float32)
        self.k1, self.b = float(k1), float(b)
        n = len(self.doc_len)
        if n == 0:
            raise EmptyStoreError("a BM25 index needs at least one passage; the store is empty")
        df = np.diff(self.term_ptr).astype(np.float64)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avgdl = float(self.doc_len.mean()) or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len[self.post_docs] / avgdl)
        term_of_posting = np.repeat(np.arange(len(df)), np.diff(self.term_ptr))
        self.post_weight = (self.idf[term_of_posting] * self.post_tf * (self.k1 + 1.0) / (self.post_tf + norm)).astype(
            np.float32
        )

    @classmethod
    def build(cls, passages, vocab_size=None, k1=1.5, b=0.75):
        """Index a list of token-id sequences (one per passage).

        Example:
            >>> BM25Index.build([], vocab_size=4)
            Traceback (most recent call last):
            ...
            zoo.retrieval.errors.EmptyStoreError: a BM25 index needs at least one passage; the store is empty
        """
        rows, terms, tfs, lengths = [], [], [], []
        for i, ids in enumerate(passages):
            ids = np.asarray(ids, np.int64).ravel()
            lengths.append(len(ids))
            if len(ids) == 0:
                continue
            unique, counts = np.unique(ids, return_counts=True)
            rows.append(np.full(len(unique), i, np.int32))
            terms.append(unique)
            tfs.append(counts)
        if not lengths:
            raise EmptyStoreError("a BM25 index needs at least one passage; the store is empty")
        rows = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        terms = np.concatenate(terms) if terms else np.zeros(0, np.int64)
        tfs = np.concatenate(tfs) if tfs else np.zeros(0, np.int64)
        size = int(max(vocab_size or 0, (terms.max() + 1) if len(terms) else 0))
        order = np.argsort(terms, kind="stable")  # postings grouped by term, passages ascending inside a term
        term_ptr = np.zeros(size + 1, np.int64)
        np.cumsum(np.bincount(terms, minlength=size), out=term_ptr[1:])
        return cls(term_ptr, rows[order], tfs[order], lengths, k1=k1, b=b)

    def __len__(self):
        return len(self.doc_len)

    def scores(self, query_ids):
        """BM25 score of every passage for one query (token ids); float32 [num_passages].

        Example:
            >>> BM25Index.build([[1], [2]], vocab_size=3).scores([2]).tolist()[0]
            0.0
        """
        terms = np.unique(np.asarray(query_ids, np.int64).ravel())
        terms = terms[(terms >= 0) & (terms < len(self.term_ptr) - 1)]  # a term never seen scores nothing
        if len(terms) == 0:
            return np.zeros(len(self), np.float32)
        spans = [np.arange(self.term_ptr[t], self.term_ptr[t + 1]) for t in terms]
        postings = np.concatenate(spans)
        return np.bincount(self.post_docs[postings], weights=self.post_weight[postings], minlength=len(self)).astype(
            np.float32
        )

    def search(self, query_ids, k=10):
        """Top-k passages for one query: (indices, scores), best first, ties by passage order.

        Example:
            >>> BM25Index.build([[1], [2]], vocab_size=3).search([1], k=3)
            Traceback (most recent call last):
            ...
            ValueError: k=3 is larger than the store (2 entries); ask for at most 2 neighbours
        """
        k = check_k(k, len(self))
        scores = self.scores(query_ids)
        return top_k(scores, k)

    def state(self):
        """Arrays and settings to save (see `from_state`)."""
        return {
            "term_ptr": self.term_ptr,
            "post_docs": self.post_docs,
            "post_tf": self.post_tf,
            "doc_len": self.doc_len,
            "k1": np.float32(self.k1),
            "b": np.float32(self.b),
        }

    @classmethod
    def from_state(cls, state):
        """Rebuild an index from `state()` arrays."""
        return cls(
            state["term_ptr"],
            state["post_docs"],
            state["post_tf"],
            state["doc_len"],
            k1=float(state["k1"]),
            b=float(state["b"]),
        )


def top_k(scores, k):
    """Indices and values of the k largest scores, best first; equal scores keep index order.

    Example:
        >>> idx, val = top_k(np.array([0.1, 0.5, 0.5, 0.2]), 2)
        >>> idx.tolist(), val.tolist()
        ([1, 2], [0.5, 0.5])
    """
    scores = np.asarray(scores)
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        # argpartition picks an arbitrary member of a tie at the cut: take every tied one, then sort.
        cut = scores[part].min()
        part = np.flatnonzero(scores >= cut)
    else:
        part = np.arange(len(scores))
    order = np.lexsort((part, -scores[part]))[:k]
    idx = part[order]
    return idx, scores[idx]
