"""Corpus statistics: documents, bytes, characters, languages and (with a tokenizer) tokens.

What `zoo data stats` prints, and what `zoo data prepare` adds to its report,
so a person knows how big a corpus is before training on it.

Example:
    >>> from zoo.data.document import Document
    >>> stats = corpus_stats([Document(id="1", text="吾輩は猫である。名前はまだ無い。"), Document(id="2", text="The cat.")])
    >>> stats["documents"], stats["languages"]["ja"], stats["unspaced_documents"]
    (2, 1, 1)
"""

import collections
import statistics

from zoo.data.document import total_bytes
from zoo.data.language import identify_language, is_unspaced_script


def corpus_stats(documents, tokenizer=None, progress=False):
    """Return a JSON-ready dict of sizes, document lengths, language counts and token counts.

    Example:
        >>> from zoo.data.document import Document
        >>> corpus_stats([Document(id="1", text="abc")])["bytes"]
        3
    """
    from tqdm.auto import tqdm

    documents = list(documents)
    if not documents:
        raise ValueError("the corpus has no documents; run `zoo data prepare` (or acquire/clean) first")
    lengths = [len(doc.text) for doc in documents]
    languages = collections.Counter()
    unspaced = 0
    for doc in tqdm(documents, desc="stats", unit="doc", disable=not progress):
        languages[identify_language(doc.text)[0]] += 1
        unspaced += is_unspaced_script(doc.text)
    stats = {
        "documents": len(documents),
        "bytes": total_bytes(documents),
        "characters": sum(lengths),
        "chars_per_document": {
            "min": min(lengths),
            "median": int(statistics.median(lengths)),
            "max": max(lengths),
            "mean": round(sum(lengths) / len(lengths), 1),
        },
        "languages": dict(languages.most_common()),
        "unspaced_documents": unspaced,
    }
    if tokenizer is not None:
        tokens = 0
        for start in range(0, len(documents), 256):
            batch = [doc.text for doc in documents[start : start + 256]]
            tokens += sum(len(ids) for ids in tokenizer.tokenize(batch))
        stats["tokens"] = int(tokens)
        stats["bytes_per_token"] = round(stats["bytes"] / max(1, tokens), 3)
        stats["vocabulary_size"] = int(tokenizer.vocabulary_size())
    return stats
