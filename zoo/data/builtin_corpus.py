"""The built-in English corpus: CPython's `pydoc_data.topics` (about 465 KB).

It ships with every Python, so the text recipes and the tests run offline.

Example:
    >>> from zoo.data.builtin_corpus import load_builtin_corpus
    >>> docs = load_builtin_corpus()
    >>> len(docs) > 50, sum(map(len, docs)) > 400_000
    (True, True)
"""


def load_builtin_corpus():
    """Return the built-in corpus as a list of documents (one per pydoc topic), in a fixed order."""
    from pydoc_data.topics import topics

    return [topics[key].strip() for key in sorted(topics) if topics[key].strip()]


def builtin_corpus_text(separator="\n\n"):
    """Return the whole built-in corpus as one string."""
    return separator.join(load_builtin_corpus())
