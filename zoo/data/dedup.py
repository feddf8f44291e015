"""Deduplicate stage: exact duplicates by hash, near-duplicates by MinHash LSH (datasketch).

Exact: two documents are the same when their normalized text (NFKC, case
folded, whitespace collapsed) has the same SHA-256.

Near: each document becomes a set of shingles (n consecutive words; in
Japanese/Chinese text n consecutive characters, since there are no spaces),
then a MinHash signature; MinHash LSH finds candidates whose estimated Jaccard
similarity is at least `threshold`. The first document of a cluster is kept
and the later ones are removed; the report lists every cluster.

Example:
    >>> from zoo.data.document import Document
    >>> a = Document(id="a", text="Python is a programming language that lets you work quickly and integrate systems.")
    >>> b = Document(id="b", text="python is a programming language  that lets you work quickly and integrate systems.")
    >>> result = deduplicate([a, b], DedupConfig(), progress=False)
    >>> [d.id for d in result.kept], result.clusters
    (['a'], [{'kept': 'a', 'removed': ['b'], 'kind': 'exact'}])
"""

import collections
import dataclasses
import hashlib
import re
import unicodedata
import zlib

from zoo.data.language import is_unspaced_script

_SPACES_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclasses.dataclass
class DedupConfig:
    """Switches and knobs of deduplication.

    Example:
        >>> DedupConfig(threshold=0.9, shingle_size=3).num_perm
        128
    """

    exact: bool = True
    near: bool = True
    threshold: float = 0.8  # estimated Jaccard similarity at which two documents count as duplicates
    shingle_size: int = 5  # words per shingle (characters in unspaced scripts)
    num_perm: int = 128  # MinHash permutations: more is more accurate and slower
    seed: int = 1

    def __post_init__(self):
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.shingle_size < 1:
            raise ValueError(f"shingle_size must be at least 1, got {self.shingle_size}")
        if self.num_perm < 16:
            raise ValueError(f"num_perm must be at least 16 for a usable estimate, got {self.num_perm}")


@dataclasses.dataclass
class DedupResult:
    """Documents kept, (document, reason) pairs removed, and the clusters found.

    Example:
        >>> DedupResult([], [], []).reason_counts()
        {}
    """

    kept: list
    removed: list
    clusters: list  # {"kept": id, "removed": [ids], "kind": "exact" | "near"}

    def reason_counts(self):
        """Return {reason: documents removed}.

        Example:
            >>> DedupResult([], [(None, "dedup:exact")], []).reason_counts()
            {'dedup:exact': 1}
        """
        return dict(collections.Counter(reason for _, reason in self.removed).most_common())


def normalize_for_hash(text):
    """Return the form of `text` that exact dedup compares: NFKC, case folded, whitespace collapsed.

    Example:
        >>> normalize_for_hash("  Ｈｅｌｌｏ\\n  World ")
        'hello world'
    """
    return _SPACES_RE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def exact_hash(text):
    """Return the SHA-256 hex digest of the normalized text.

    Example:
        >>> exact_hash("a  b") == exact_hash("A b")
        True
    """
    return hashlib.sha256(normalize_for_hash(text).encode("utf-8", "surrogatepass")).hexdigest()


def shingles(text, size, normalized=False):
    """Return the set of shingles of `text`: word n-grams, or character n-grams in unspaced scripts.

    Pass `normalized=True` when `text` already went through `normalize_for_hash`.

    Example:
        >>> sorted(shingles("a b c d", 3))
        ['a b c', 'b c d']
        >>> sorted(shingles("日本語です", 3))
        ['日本語', '本語で', '語です']
    """
    if not normalized:
        text = normalize_for_hash(text)
    if is_unspaced_script(text):
        chars = "".join(_WORD_RE.findall(text))
        units, joiner = list(chars), ""
    else:
        units, joiner = _WORD_RE.findall(text), " "
    if len(units) <= size:
        return {joiner.join(units)} if units else set()
    return {joiner.join(units[i : i + size]) for i in range(len(units) - size + 1)}


def minhash(text, config, normalized=False):
    """Return the datasketch MinHash signature of `text`.

    Example:
        >>> c = DedupConfig()
        >>> round(minhash("a b c d e f g", c).jaccard(minhash("a b c d e f g", c)), 2)
        1.0
    """
    from datasketch import MinHash

    # datasketch's default hash is SHA-1 per shingle; CRC-32 (C, no wrapper) is far faster and
    # enough for MinHash, which only needs a well-spread 32-bit value.
    m = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=zlib.crc32)
    grams = shingles(text, config.shingle_size, normalized=normalized)
    if grams:
        m.update_batch([g.encode("utf-8", "surrogatepass") for g in grams])
    return m


def deduplicate(documents, config=None, progress=True):
    """Remove exact and near duplicates; the first document of each cluster is kept.

    Example:
        >>> from zoo.data.document import Document
        >>> docs = [Document(id=str(i), text=t) for i, t in enumerate(["同じ文章です。", "同じ文章です。", "違う"])]
        >>> [d.id for d in deduplicate(docs, progress=False).kept]
        ['0', '2']
    """
    from tqdm.auto import tqdm

    config = config or DedupConfig()
    kept, removed = [], []
    clusters = {}  # kept id -> {"kept", "removed", "kind"}
    seen_hashes = {}
    lsh = None
    if config.near:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    signatures = {}
    position = {}  # kept id -> order, so a cluster always names its earliest document
    for doc in tqdm(documents, desc="dedup", unit="doc", disable=not progress):
        normalized = normalize_for_hash(doc.text)  # once, for both the hash and the shingles
        if config.exact:
            digest = hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()
            first = seen_hashes.get(digest)
            if first is not None:
                removed.append((doc, "dedup:exact"))
                clusters.setdefault(first, {"kept": first, "removed": [], "kind": "exact"})["removed"].append(doc.id)
                continue
            seen_hashes[digest] = doc.id
        if lsh is not None:
            m = minhash(normalized, config, normalized=True)
            # LSH returns candidates; confirm each with the signature estimate so that a
            # banding false positive does not remove a document.
            matches = [key for key in lsh.query(m) if signatures[key].jaccard(m) >= config.threshold]
            if matches:
                first = min(matches, key=position.__getitem__)
                removed.append((doc, "dedup:near"))
                cluster = clusters.setdefault(first, {"kept": first, "removed": [], "kind": "near"})
                if cluster["kind"] == "exact":
                    cluster["kind"] = "exact+near"
                cluster["removed"].append(doc.id)
                continue
            if doc.id in signatures:
                raise ValueError(f"two different documents share the id {doc.id!r}; ids must be unique for dedup")
            lsh.insert(doc.id, m)
            signatures[doc.id] = m
        position[doc.id] = len(kept)
        kept.append(doc)
    return DedupResult(kept=kept, removed=removed, clusters=list(clusters.values()))
