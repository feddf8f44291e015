"""Deduplicate stage: exact (normalized hash) and near (MinHash LSH), clusters, Japanese shingles."""

import random

import pytest

from tests.data.japanese_sample import JAPANESE_DOCUMENTS
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.dedup import DedupConfig, deduplicate, shingles
from zoo.data.document import Document


def _perturb(text, rate, seed):
    # Replace a share of the words: a near-duplicate, as mirrored or lightly edited pages are.
    rng = random.Random(seed)
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * rate)):
        words[i] = "edited"
    return " ".join(words)


def test_exact_duplicates_after_normalization():
    base = load_builtin_corpus()[5]
    docs = [
        Document(id="a", text=base),
        Document(id="b", text="  " + base.upper().replace(" ", "   ")),
        Document(id="c", text=load_builtin_corpus()[6]),
    ]
    result = deduplicate(docs, DedupConfig(near=False), progress=False)
    assert [d.id for d in result.kept] == ["a", "c"]
    assert result.clusters == [{"kept": "a", "removed": ["b"], "kind": "exact"}]


def test_near_duplicates_are_clustered_and_distinct_documents_kept():
    corpus = load_builtin_corpus()[:10]
    docs = [Document(id=f"orig{i}", text=t) for i, t in enumerate(corpus)]
    big = max(range(10), key=lambda i: len(corpus[i]))  # long enough for 1 % edits to touch words
    docs += [
        Document(id="copy", text=_perturb(corpus[big], 0.01, 1)),
        Document(id="copy-b", text=_perturb(corpus[big], 0.02, 2)),
        Document(id="far", text=_perturb(corpus[big], 0.6, 3)),
    ]  # mostly rewritten: not a duplicate
    result = deduplicate(docs, DedupConfig(threshold=0.8), progress=False)
    assert [d.id for d in result.kept] == [f"orig{i}" for i in range(10)] + ["far"]
    assert result.clusters == [{"kept": f"orig{big}", "removed": ["copy", "copy-b"], "kind": "near"}]
    assert result.reason_counts() == {"dedup:near": 2}


def test_japanese_near_duplicates_use_character_shingles():
    text = "".join(JAPANESE_DOCUMENTS)
    edited = text.replace("大切です", "重要です", 1)
    assert shingles("日本語です", 2) == {"日本", "本語", "語で", "です"}
    docs = [
        Document(id="ja", text=text),
        Document(id="ja-edit", text=edited),
        Document(id="en", text=load_builtin_corpus()[0]),
    ]
    result = deduplicate(docs, progress=False)
    assert [d.id for d in result.kept] == ["ja", "en"]
    assert result.clusters[0]["removed"] == ["ja-edit"]


def test_threshold_and_shingle_size_are_configurable():
    a = load_builtin_corpus()[2]
    b = _perturb(a, 0.15, 4)
    docs = [Document(id="a", text=a), Document(id="b", text=b)]
    assert len(deduplicate(docs, DedupConfig(threshold=0.95), progress=False).kept) == 2
    assert len(deduplicate(docs, DedupConfig(threshold=0.3, shingle_size=2), progress=False).kept) == 1
    with pytest.raises(ValueError, match="threshold"):
        DedupConfig(threshold=0)
    with pytest.raises(ValueError, match="shingle_size"):
        DedupConfig(shingle_size=0)
