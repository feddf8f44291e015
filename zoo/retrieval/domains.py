"""Two text domains inside the built-in corpus, for measuring kNN-LM on text the LM never saw.

CPython's pydoc topics come from two different books:

- the Language Reference (syntax, statements, expressions, the data model):
  "in-domain", the only text the LM is trained on;
- the Library Reference (built-in types and their methods, format-string
  syntax, the pdb debugger; `LIBRARY_TOPICS`): the "new domain". Its text is
  added to the kNN datastore only, never to the LM's training data or its
  tokenizer's.

Many topics repeat each other's paragraphs ("compound" holds "if", "while", "try"...;
"typesseq-mutable" repeats part of "typesseq"). Text that is evaluated must not sit
in the datastore or the training set word for word, so the split works on
paragraphs: each paragraph is kept at its first occurrence only (Language
Reference first), then each book is cut into chunks of whole paragraphs (about
1,500 characters) and chunks go by a seeded hash to their split: Language
Reference 85 % train / 15 % held out; Library Reference 70 % datastore, 15 %
tuning (to pick lambda and the temperature), 15 % test (the reported number).

Example:
    >>> parts = pydoc_domains()
    >>> sorted(parts)
    ['heldout', 'new_datastore', 'new_test', 'new_tune', 'train']
    >>> set(parts["new_test"]) & set(parts["new_datastore"])
    set()
"""

import hashlib

LIBRARY_TOPICS = (
    "bltin-code-objects",
    "bltin-ellipsis-object",
    "bltin-null-object",
    "bltin-type-objects",
    "debugger",
    "formatstrings",
    "specialattrs",
    "string-methods",
    "truth",
    "typesfunctions",
    "typesmapping",
    "typesmethods",
    "typesmodules",
    "typesseq",
    "typesseq-mutable",
)


def paragraphs(text):
    """Blank-line separated paragraphs of a text, stripped, empty ones dropped.

    Example:
        >>> paragraphs("a\\n\\n\\n\\n b ")
        ['a', 'b']
    """
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def paragraph_chunks(text, size=1500):
    """Cut a text into chunks of whole paragraphs (blank-line separated) of about `size` characters.

    Example:
        >>> paragraph_chunks("a\\n\\nb\\n\\nc", size=4)
        ['a\\n\\nb', 'c']
    """
    chunks, current = [], []
    for paragraph in text.split("\n\n"):
        if current and len("\n\n".join(current + [paragraph])) > size:
            chunks.append("\n\n".join(current))
            current = []
        current.append(paragraph)
    if current:
        chunks.append("\n\n".join(current))
    return [c for c in chunks if c.strip()]


def _bucket(text, seed):
    digest = hashlib.sha256(f"{seed}\x00{text}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pydoc_domains(seed=0, heldout_fraction=0.15, datastore_fraction=0.7, chunk_size=1500):
    """Split the built-in corpus: {"train", "heldout"} (Language Reference paragraph chunks) and
    {"new_datastore", "new_tune", "new_test"} (Library Reference paragraph chunks).

    Example:
        >>> parts = pydoc_domains()
        >>> min(len(v) for v in parts.values()) > 0
        True
    """
    from pydoc_data.topics import topics

    language = [topics[k].strip() for k in sorted(topics) if topics[k].strip() and k not in LIBRARY_TOPICS]
    library = [topics[k].strip() for k in sorted(topics) if topics[k].strip() and k in LIBRARY_TOPICS]
    # Some topics share text; the sets must not overlap across splits.
    language = list(dict.fromkeys(language))
    seen = set()

    def new_paragraphs(texts):
        # Keep each paragraph at its first occurrence only: no text is in two splits word for word.
        out = []
        for text in texts:
            kept = [p for p in paragraphs(text) if p not in seen]
            seen.update(kept)
            out.append("\n\n".join(kept))
        return out

    parts = {"train": [], "heldout": [], "new_datastore": [], "new_tune": [], "new_test": []}
    for chunk in dict.fromkeys(c for text in new_paragraphs(language) for c in paragraph_chunks(text, chunk_size)):
        parts["heldout" if _bucket(chunk, seed) < heldout_fraction else "train"].append(chunk)
    new_texts = new_paragraphs(library)
    rest = (1.0 - datastore_fraction) / 2
    for chunk in dict.fromkeys(c for text in new_texts for c in paragraph_chunks(text, chunk_size)):
        u = _bucket(chunk, seed)
        key = "new_datastore" if u < datastore_fraction else "new_tune" if u < datastore_fraction + rest else "new_test"
        parts[key].append(chunk)
    return parts
