"""Corpus shards: documents saved as JSON Lines files of bounded size.

A cleaned corpus is a folder of `shard-00000.jsonl`, `shard-00001.jsonl`, ...
one document per line (`{"id", "text", "source", "kind"}`), UTF-8, written
atomically. Readers stream them back without loading the whole corpus.

Example:
    >>> import tempfile
    >>> from zoo.data.document import Document
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_shards([Document(id="1", text="日本語の文。")], folder)
    >>> [doc.text for doc in read_shards(folder)]
    ['日本語の文。']
"""

import json
from pathlib import Path

from zoo.data.atomic_files import atomic_open, writing_to
from zoo.data.document import Document

SHARD_PATTERN = "shard-*.jsonl"


def write_shards(documents, folder, max_shard_bytes=64 * 1024 * 1024, prefix="shard"):
    """Write documents into `folder` as JSONL shards of at most ~`max_shard_bytes`; return the paths.

    Old shards with the same prefix are removed only after the new ones are written,
    so an interrupted run never leaves a mix of old and new.

    Example:
        >>> import tempfile
        >>> from zoo.data.document import Document
        >>> len(write_shards([Document(id=str(i), text="x" * 10) for i in range(5)], tempfile.mkdtemp(), max_shard_bytes=150))
        3
    """
    if max_shard_bytes <= 0:
        raise ValueError(f"max_shard_bytes must be positive, got {max_shard_bytes}")
    folder = Path(folder)
    with writing_to(folder):  # a read-only or full disk: one line naming the folder
        folder.mkdir(parents=True, exist_ok=True)
    old = set(folder.glob(f"{prefix}-*.jsonl"))
    written, lines, size = [], [], 0

    def flush():
        path = folder / f"{prefix}-{len(written):05d}.jsonl"
        with atomic_open(path) as handle:
            handle.writelines(lines)
        written.append(path)

    for doc in documents:
        line = json.dumps(doc.to_dict(), ensure_ascii=False) + "\n"
        if lines and size + len(line.encode("utf-8")) > max_shard_bytes:
            flush()
            lines, size = [], 0
        lines.append(line)
        size += len(line.encode("utf-8"))
    if lines or not written:
        flush()
    for stale in old - set(written):
        stale.unlink()
    return written


def shard_paths(folder):
    """Return the shard files of a shards folder (or of a corpus folder's shards/) in order; raise if none.

    Example:
        >>> import tempfile
        >>> shard_paths(tempfile.mkdtemp())
        Traceback (most recent call last):
        ...
        FileNotFoundError: no shard-*.jsonl files in ...; run `zoo data prepare` or `zoo data clean` to make them
    """
    folder = Path(folder)
    if (folder / "shards").is_dir():  # a corpus folder: its shards live in shards/
        folder = folder / "shards"
    paths = sorted(folder.glob(SHARD_PATTERN))
    if not paths:
        raise FileNotFoundError(
            f"no {SHARD_PATTERN} files in {folder}; run `zoo data prepare` or `zoo data clean` to make them"
        )
    return paths


def read_shards(folder):
    """Yield the documents of a corpus folder (or of one shard file), in order.

    Example:
        >>> import tempfile
        >>> from zoo.data.document import Document
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_shards([Document(id="1", text="a"), Document(id="2", text="b")], folder)
        >>> [d.id for d in read_shards(folder)]
        ['1', '2']
    """
    folder = Path(folder)
    paths = [folder] if folder.is_file() else shard_paths(folder)
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield Document.from_dict(json.loads(line))
                except (json.JSONDecodeError, ValueError) as err:
                    raise ValueError(f"{path}:{number}: not a document line ({err}); the shard is damaged") from err
