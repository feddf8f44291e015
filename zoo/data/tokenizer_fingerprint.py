"""The fingerprint of a tokenizer: a short hash that says "this exact tokenizer".

Two tokenizers of the same size can still cut text into different pieces, so a
model, an index or an export is only valid with the tokenizer it was made with.
The fingerprint hashes the files `save_tokenizer` writes (model or vocabulary
files and metadata): the same files load the same tokenizer. A run folder
records it (`zoo.runs.RunFolder.finish`), the retrieval store and kNN-LM
datastore record it, and `zoo export` checks it.

Example:
    >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
    >>> from zoo.data.special_tokens import SPECIAL_TOKENS
    >>> a = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"])
    >>> b = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["dog"])
    >>> tokenizer_fingerprint(a) == tokenizer_fingerprint(b)
    False
"""

import hashlib
import tempfile
from pathlib import Path


def digest(chunks):
    """The first 16 hex digits of the sha256 of byte `chunks`.

    Example:
        >>> digest([b"a", b"b"]) == digest([b"ab"])
        True
    """
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()[:16]


def tokenizer_fingerprint(tokenizer):
    """Hash of a zoo tokenizer's saved files (model/vocabulary and metadata).

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> len(tokenizer_fingerprint(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS))))
        16
    """
    from zoo.data.tokenizer import save_tokenizer

    # The saved form is what defines a tokenizer here: the same files load the same tokenizer.
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_tokenizer(tokenizer, tmp)
        files = sorted(p for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))
        return digest(p.name.encode() + b"\0" + p.read_bytes() for p in files)


def tokenizer_folder_fingerprint(folder):
    """The fingerprint of the tokenizer saved in `folder`, or None when no tokenizer zoo can load is there.

    Loaded and saved again, so that a copy of a tokenizer folder, with or without stray files, has the
    fingerprint of the tokenizer it holds.

    Example:
        >>> import tempfile
        >>> tokenizer_folder_fingerprint(tempfile.mkdtemp()) is None
        True
    """
    if not (Path(folder) / "tokenizer.json").is_file():
        return None
    from zoo.data.tokenizer import load_tokenizer

    try:
        return tokenizer_fingerprint(load_tokenizer(folder))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):  # a damaged folder: nothing to compare
        return None
