"""Nearest-neighbour search over vectors: exact with numpy, approximate with faiss.

- `ExactIndex`: brute force, one matrix product per chunk of queries. Exact by
  construction; fine up to some tens of thousands of vectors.
- `FaissIndex`: faiss-cpu's HNSW graph (`IndexHNSWFlat`, default) or inverted
  lists (`IndexIVFFlat`); much faster on large stores, at the price of recall
  (the benchmark measures recall@10 against the exact search).

`metric="ip"` ranks by inner product (cosine on L2-normalised embeddings: dense
passage retrieval); `metric="l2"` by squared Euclidean distance (kNN-LM).
`search` returns (indices [q, k], values [q, k]): inner products best first, or
squared distances nearest first, as faiss does.

Example:
    >>> import numpy as np
    >>> x = np.eye(4, dtype="float32")
    >>> idx, val = ExactIndex(x, metric="ip").search(x[2:3], k=1)
    >>> idx.tolist(), val.tolist()
    ([[2]], [[1.0]])
"""

import os
from pathlib import Path

import numpy as np

from zoo.data.atomic_files import atomic_open
from zoo.retrieval.errors import EmptyStoreError, check_k

METRICS = ("ip", "l2")
KINDS = ("auto", "exact", "hnsw", "ivf")
EXACT_LIMIT = 50_000  # "auto" searches exactly up to this many vectors, approximately above


def _check_vectors(vectors, metric):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array [count, dim], got shape {vectors.shape}")
    if len(vectors) == 0:
        raise EmptyStoreError("cannot index zero vectors: the store is empty")
    return vectors


def _check_queries(queries, dim):
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim == 1:
        queries = queries[None]
    if queries.ndim != 2 or queries.shape[1] != dim:
        raise ValueError(f"queries must be [count, {dim}] (the index's dimension), got shape {queries.shape}")
    return queries


class ExactIndex:
    """Brute-force search with numpy (exact).

    Example:
        >>> import numpy as np
        >>> x = np.array([[0, 0], [3, 4]], "float32")
        >>> ExactIndex(x, metric="l2").search(np.array([[3, 3]], "float32"), k=2)[1].tolist()
        [[1.0, 18.0]]
    """

    kind = "exact"

    def __init__(self, vectors, metric="ip", chunk=256):
        self.metric = metric
        self.vectors = _check_vectors(vectors, metric)
        self.norms = (self.vectors**2).sum(axis=1) if metric == "l2" else None
        self.chunk = int(chunk)

    def __len__(self):
        return len(self.vectors)

    @property
    def dim(self):
        return self.vectors.shape[1]

    def search(self, queries, k=10):
        k = check_k(k, len(self))
        queries = _check_queries(queries, self.dim)
        all_idx = np.empty((len(queries), k), np.int64)
        all_val = np.empty((len(queries), k), np.float32)
        # Chunks of queries bound the [chunk, count] score matrix (256 x 100k floats = 100 MB).
        for s in range(0, len(queries), self.chunk):
            q = queries[s : s + self.chunk]
            sims = q @ self.vectors.T
            if self.metric == "l2":
                # ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2; negated so larger is better below.
                sims = 2.0 * sims - self.norms[None] - (q**2).sum(axis=1, keepdims=True)
            if k < sims.shape[1]:
                part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
            vals = np.take_along_axis(sims, part, axis=1)
            order = np.argsort(-vals, axis=1, kind="stable")
            all_idx[s : s + len(q)] = np.take_along_axis(part, order, axis=1)
            vals = np.take_along_axis(vals, order, axis=1)
            all_val[s : s + len(q)] = np.maximum(-vals, 0.0) if self.metric == "l2" else vals
        return all_idx, all_val

    def save(self, path):
        with atomic_open(Path(path), "wb") as handle:
            np.save(handle, self.vectors)

    @classmethod
    def load(cls, path, metric):
        return cls(np.load(path), metric=metric)


class FaissIndex:
    """Approximate search with faiss-cpu: an HNSW graph or IVF lists over flat (uncompressed) vectors.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(500, 8)).astype("float32")
        >>> index = FaissIndex(x, kind="hnsw", metric="l2")
        >>> int(index.search(x[:1], k=1)[0][0, 0])
        0
    """

    def __init__(
        self,
        vectors=None,
        kind="hnsw",
        metric="ip",
        hnsw_m=32,
        ef_construction=80,
        ef_search=64,
        nlist=None,
        nprobe=16,
        seed=0,
        index=None,
    ):
        import faiss

        if kind not in ("hnsw", "ivf"):
            raise ValueError(f"approximate index kind must be 'hnsw' or 'ivf', got {kind!r}")
        self.kind, self.metric = kind, metric
        faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
        if index is not None:
            self.index = index
        else:
            vectors = _check_vectors(vectors, metric)
            dim = vectors.shape[1]
            if kind == "hnsw":
                self.index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss_metric)
                self.index.hnsw.efConstruction = ef_construction
            else:
                # About 4 sqrt(N) lists (the faiss guideline), each with enough vectors to train k-means.
                nlist = nlist or max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors) // 39))
                quantizer = faiss.IndexFlat(dim, faiss_metric)
                self.index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)
                self.index.cp.seed = seed
                self.index.train(vectors)
                self._quantizer = quantizer  # faiss does not own it: keep it alive
            self.index.add(vectors)
        self.set_search_params(ef_search=ef_search, nprobe=nprobe)

    def set_search_params(self, ef_search=64, nprobe=16):
        """Speed/recall knobs: HNSW's efSearch, IVF's nprobe (more = slower and more exact)."""
        import faiss

        if self.kind == "hnsw":
            self.index.hnsw.efSearch = int(ef_search)
        else:
            faiss.extract_index_ivf(self.index).nprobe = int(nprobe)

    def __len__(self):
        return int(self.index.ntotal)

    @property
    def dim(self):
        return int(self.index.d)

    def search(self, queries, k=10):
        k = check_k(k, len(self))
        queries = _check_queries(queries, self.dim)
        values, idx = self.index.search(queries, k)
        return idx.astype(np.int64), values.astype(np.float32)

    def save(self, path):
        import faiss

        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            faiss.write_index(self.index, str(tmp))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    @classmethod
    def load(cls, path, kind, metric):
        import faiss

        return cls(kind=kind, metric=metric, index=faiss.read_index(str(path)))


def build_vector_index(vectors, kind="auto", metric="ip", exact_limit=EXACT_LIMIT, **options):
    """An ExactIndex or a FaissIndex over `vectors`; "auto" is exact up to `exact_limit` vectors, else HNSW.

    Example:
        >>> import numpy as np
        >>> build_vector_index(np.ones((3, 2), "float32")).kind
        'exact'
    """
    if kind not in KINDS:
        raise ValueError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
    vectors = _check_vectors(vectors, metric)
    if kind == "auto":
        kind = "exact" if len(vectors) <= exact_limit else "hnsw"
    if kind == "exact":
        return ExactIndex(vectors, metric=metric)
    return FaissIndex(vectors, kind=kind, metric=metric, **options)


def index_file(kind):
    """File name an index of `kind` is saved under inside a store folder."""
    return "vectors.npy" if kind == "exact" else f"vectors.{kind}.faiss"


def load_vector_index(folder, kind, metric):
    """Load an index saved by `index.save(folder / index_file(kind))`."""
    path = Path(folder) / index_file(kind)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; the store folder is incomplete, build it again")
    try:
        if kind == "exact":
            return ExactIndex.load(path, metric)
        return FaissIndex.load(path, kind, metric)
    except (RuntimeError, ValueError, OSError, EOFError) as err:  # faiss raises RuntimeError with a C++ trace
        detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise ValueError(f"{path} is damaged ({detail}); build the store again with `zoo retrieve build`") from None
