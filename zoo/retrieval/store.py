"""The document store: passages, a BM25 index and (optionally) a dense index, in one folder.

    <store>/manifest.json     what was built, with which tokenizer and model (fingerprints), written last
    <store>/passages.jsonl    one passage per line: index, doc, start, text, source
    <store>/passages.npz      token ids of all passages (flat array + offsets)
    <store>/bm25.npz          the inverted index (see `zoo.retrieval.bm25`)
    <store>/vectors.npy       dense vectors (exact index), or vectors.hnsw.faiss / vectors.ivf.faiss
    <store>/tokenizer/        a copy of the tokenizer that cut the passages

Every file is written to a temporary name and renamed; the manifest comes last,
so a folder with a manifest is a complete store. Loading checks fingerprints: a
tokenizer or encoder other than the one the store was built with raises
`FingerprintMismatchError` (BM25 terms are token ids, and vectors from another
model live in another space).

Search methods: "bm25" (lexical), "dense" (encoder vectors, cosine) and
"hybrid" (reciprocal rank fusion of both, Cormack et al. 2009).

Example:
    >>> store = DocumentStore.build("data/corpus-builtin", tokenizer, encoder=None)   # doctest: +SKIP
    >>> store.save("data/store-builtin")                                             # doctest: +SKIP
    >>> DocumentStore.load("data/store-builtin").search("for loop", k=3)[0].source   # doctest: +SKIP
    'pydoc_data.topics[31]'
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from zoo.data.atomic_files import atomic_open, write_json_atomic
from zoo.retrieval.bm25 import BM25Index
from zoo.retrieval.errors import EmptyStoreError, check_k
from zoo.retrieval.fingerprints import check_fingerprint, tokenizer_fingerprint
from zoo.retrieval.passages import Passage, make_passages, read_texts, tokenize_texts
from zoo.retrieval.vector_index import build_vector_index, index_file, load_vector_index

MANIFEST = "manifest.json"
FORMAT = 1
METHODS = ("bm25", "dense", "hybrid")
RRF_K = 60  # reciprocal rank fusion constant from Cormack et al. 2009


@dataclasses.dataclass
class Hit:
    """One search result: the passage, its score under the method used, and its rank (0 = best)."""

    passage: Passage
    score: float
    rank: int

    @property
    def text(self):
        return self.passage.text

    @property
    def source(self):
        return self.passage.source

    def to_dict(self):
        return {"rank": self.rank, "score": round(float(self.score), 6), **self.passage.to_dict()}


class DocumentStore:
    """Passages with a BM25 index and, when built with an encoder, a dense index.

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat", "dog", "sat", "ran"])
        >>> store = DocumentStore.build(["cat sat", "dog ran"], tok)
        >>> store.search("dog", k=1)[0].text
        'dog ran'
    """

    def __init__(self, passages, tokenizer, bm25, manifest, vectors=None, encoder=None, encoder_loader=None):
        if not passages:
            raise EmptyStoreError("the store has no passages; build it from a corpus with some text")
        self.passages = passages
        self.tokenizer = tokenizer
        self.bm25 = bm25
        self.manifest = manifest
        self.vectors = vectors
        self._encoder = encoder
        self._encoder_loader = encoder_loader

    def __len__(self):
        return len(self.passages)

    # ----- building -------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        source,
        tokenizer=None,
        encoder=None,
        window=128,
        stride=96,
        index_kind="auto",
        k1=1.5,
        b=0.75,
        progress=False,
        log=None,
    ):
        """Cut `source` (corpus folder, text file/folder or list of strings) into passages and index them.

        With an `encoder` (see `zoo.retrieval.encoder.Encoder`) a dense index is
        built too; its tokenizer is then the store's.

        Example:
            >>> DocumentStore.build([], tokenizer=object())
            Traceback (most recent call last):
            ...
            zoo.retrieval.errors.EmptyStoreError: no text to build passages from: the corpus is empty
        """
        log = log or (lambda *_: None)
        if encoder is not None:
            if tokenizer is not None and tokenizer_fingerprint(tokenizer) != encoder.tokenizer_fingerprint:
                raise ValueError(
                    "the tokenizer given differs from the encoder's; leave the tokenizer out, the encoder's own is used"
                )
            tokenizer = encoder.tokenizer
        if tokenizer is None:
            if isinstance(source, (str, Path)) and (Path(source) / "tokenizer").is_dir():
                from zoo.data.tokenizer import load_tokenizer

                tokenizer = load_tokenizer(Path(source) / "tokenizer")
            else:
                raise ValueError(
                    "no tokenizer: give an encoder run (--model), or a corpus folder from "
                    "`zoo data prepare` (its tokenizer/ is used)"
                )
        started = time.perf_counter()
        texts, sources = read_texts(source)
        passages = make_passages(texts, tokenizer, window=window, stride=stride, sources=sources)
        log(f"passages: {len(passages)} windows of <= {window} tokens (stride {stride}) from {len(texts)} documents")
        bm25 = BM25Index.build([p.token_ids for p in passages], vocab_size=int(tokenizer.vocabulary_size()), k1=k1, b=b)
        vectors = None
        manifest = {
            "format": FORMAT,
            "passages": len(passages),
            "documents": len(texts),
            "window": int(window),
            "stride": int(stride),
            "tokenizer": {
                "fingerprint": tokenizer_fingerprint(tokenizer),
                "vocabulary_size": int(tokenizer.vocabulary_size()),
            },
            "bm25": {"k1": float(k1), "b": float(b)},
            "dense": None,
            "source": str(source) if isinstance(source, (str, Path)) else "texts",
        }
        if encoder is not None:
            embeddings = encoder.embed_ids([p.token_ids for p in passages], progress=progress)
            vectors = build_vector_index(embeddings, kind=index_kind, metric="ip")
            manifest["dense"] = {
                "kind": vectors.kind,
                "metric": "ip",
                "dim": int(embeddings.shape[1]),
                "model_fingerprint": encoder.fingerprint,
                "model": encoder.source,
            }
            log(f"dense index: {vectors.kind}, {len(vectors)} x {embeddings.shape[1]}")
        manifest["build_seconds"] = round(time.perf_counter() - started, 3)
        return cls(passages, tokenizer, bm25, manifest, vectors=vectors, encoder=encoder)

    # ----- searching ------------------------------------------------------------------------------

    @property
    def has_dense(self):
        return self.vectors is not None

    @property
    def encoder(self):
        if self._encoder is None and self._encoder_loader is not None:
            self._encoder = self._encoder_loader()
        return self._encoder

    def default_method(self):
        return "bm25"

    def search(self, query, k=5, method=None):
        """Top-k passages for a query string: a list of Hit, best first.

        Example:
            >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
            >>> from zoo.data.special_tokens import SPECIAL_TOKENS
            >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"])
            >>> DocumentStore.build(["cat"], tok).search("cat", k=2)
            Traceback (most recent call last):
            ...
            ValueError: k=2 is larger than the store (1 entries); ask for at most 1 neighbours
        """
        return self.search_many([query], k=k, method=method)[0]

    def search_many(self, queries, k=5, method=None):
        """Top-k passages for each query string: a list (one per query) of lists of Hit."""
        method = method or self.default_method()
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        k = check_k(k, len(self))
        if method in ("dense", "hybrid") and not self.has_dense:
            raise ValueError(
                f"method {method!r} needs a dense index; this store has BM25 only: rebuild it with "
                "an encoder run (`zoo retrieve build --model RUN`) or use method 'bm25'"
            )
        if method != "bm25" and self.encoder is None:
            raise ValueError(
                f"method {method!r} needs the store's encoder model, and the manifest names none: "
                "load the store with encoder=Encoder.from_run(RUN)"
            )
        query_ids = tokenize_texts(list(queries), self.tokenizer)
        if method == "bm25":
            ranked = [self.bm25.search(ids, k) for ids in query_ids]
        else:
            vectors = self.encoder.embed_ids(query_ids)
            depth = k if method == "dense" else min(len(self), max(k, 4 * k, 50))
            idx, val = self.vectors.search(vectors, depth)
            if method == "dense":
                ranked = list(zip(idx, val))
            else:
                ranked = [self._fuse(ids, d_idx, depth, k) for ids, d_idx in zip(query_ids, idx)]
        return [
            [Hit(self.passages[int(i)], float(s), r) for r, (i, s) in enumerate(zip(idx, val))] for idx, val in ranked
        ]

    def _fuse(self, query_ids, dense_idx, depth, k):
        # Reciprocal rank fusion: ranks, not raw scores, so BM25 and cosine need no common scale.
        bm25_idx, _ = self.bm25.search(query_ids, depth)
        fused = {}
        for ranking in (bm25_idx, dense_idx):
            for rank, i in enumerate(ranking):
                if i >= 0:
                    fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + rank + 1)
        items = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        return np.array([i for i, _ in items]), np.array([s for _, s in items], np.float32)

    # ----- saving and loading ---------------------------------------------------------------------

    def save(self, folder):
        """Write the store into `folder` (created if needed); the manifest is written last. Returns the folder."""
        from zoo.data.tokenizer import save_tokenizer

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / "passages.jsonl") as handle:
            for p in self.passages:
                handle.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
        lengths = np.array([len(p.token_ids) for p in self.passages], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        with atomic_open(folder / "passages.npz", "wb") as handle:
            np.savez(handle, ids=np.concatenate([p.token_ids for p in self.passages]).astype(np.int32), offsets=offsets)
        with atomic_open(folder / "bm25.npz", "wb") as handle:
            np.savez(handle, **self.bm25.state())
        if self.vectors is not None:
            self.vectors.save(folder / index_file(self.vectors.kind))
        save_tokenizer(self.tokenizer, folder / "tokenizer")
        write_json_atomic(folder / MANIFEST, self.manifest)
        return folder

    @classmethod
    def load(cls, folder, tokenizer=None, encoder=None):
        """Load a saved store; check a given tokenizer/encoder (or the recorded model run) against its fingerprints.

        Without `encoder`, the dense index's model is loaded from the path in the
        manifest on the first dense search, and checked then.

        Example:
            >>> DocumentStore.load("/no/such/store")
            Traceback (most recent call last):
            ...
            FileNotFoundError: /no/such/store/manifest.json not found; build a store with `zoo retrieve build`
        """
        from zoo.data.tokenizer import load_tokenizer

        folder = Path(folder)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path} not found; build a store with `zoo retrieve build`")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(
                f"{manifest_path}: store format {manifest.get('format')!r}, this zoo reads {FORMAT}; rebuild the store"
            )
        if manifest.get("passages", 0) == 0:
            raise EmptyStoreError(f"{folder} is an empty store (0 passages); rebuild it from a corpus with text")
        expected = manifest["tokenizer"]["fingerprint"]
        if tokenizer is None and encoder is not None:
            tokenizer = encoder.tokenizer
        if tokenizer is not None:
            check_fingerprint(
                "tokenizer",
                expected,
                tokenizer_fingerprint(tokenizer),
                "use the tokenizer the store was built with, or rebuild the store with this one",
            )
        else:
            tokenizer = load_tokenizer(folder / "tokenizer")
            check_fingerprint(
                "tokenizer",
                expected,
                tokenizer_fingerprint(tokenizer),
                f"{folder / 'tokenizer'} was changed after the store was built; rebuild the store",
            )
        rows = [
            json.loads(line)
            for line in (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        arrays = np.load(folder / "passages.npz")
        ids, offsets = arrays["ids"], arrays["offsets"]
        if len(rows) != manifest["passages"] or len(offsets) != len(rows) + 1:
            raise ValueError(f"{folder}: passages files disagree with the manifest; the store is damaged, rebuild it")
        passages = [
            Passage(r["index"], r["doc"], r["start"], ids[offsets[i] : offsets[i + 1]], r["text"], r.get("source", ""))
            for i, r in enumerate(rows)
        ]
        bm25 = BM25Index.from_state(dict(np.load(folder / "bm25.npz")))
        vectors, loader = None, None
        dense = manifest.get("dense")
        if dense:
            vectors = load_vector_index(folder, dense["kind"], dense["metric"])
            hint = "use the model the store was built with, or rebuild the store with this one"
            if encoder is not None:
                check_fingerprint("model", dense["model_fingerprint"], encoder.fingerprint, hint)
            elif dense.get("model"):

                def loader(path=dense["model"], want=dense["model_fingerprint"]):
                    from zoo.retrieval.encoder import Encoder

                    loaded = Encoder.from_run(path)
                    check_fingerprint(
                        "model",
                        want,
                        loaded.fingerprint,
                        f"{path} changed after the store was built; rebuild the store",
                    )
                    check_fingerprint(
                        "tokenizer",
                        expected,
                        loaded.tokenizer_fingerprint,
                        f"{path}'s tokenizer changed after the store was built; rebuild the store",
                    )
                    return loaded

        return cls(passages, tokenizer, bm25, manifest, vectors=vectors, encoder=encoder, encoder_loader=loader)
