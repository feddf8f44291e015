"""Atomic file writes: a reader never sees a half-written file.

Every file the data pipeline saves (shards, reports, tokenizer files, crawl
state) goes through here: the bytes land in a temporary file in the same
folder, are flushed to disk, and only then renamed over the target. A crash or
a bad input midway leaves the previous file untouched.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "report.json"
    >>> write_json_atomic(path, {"docs": 3})
    >>> path.read_text(encoding="utf-8").strip()
    '{\\n  "docs": 3\\n}'
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path, mode="w", encoding="utf-8"):
    """Open a temporary file next to `path`; rename it onto `path` only if the block succeeds.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_open(p) as f:
        ...     _ = f.write("hello")
        >>> p.read_text()
        'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target so that os.replace is a rename, never a copy.
    # The process id in the name lets a later run tell a dead writer's leftover from a live one's.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file private (0600); give it the mode a plain open() would have.
    os.chmod(tmp_name, 0o666 & ~_umask())
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": "\n"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_text_atomic(path, text):
    """Write `text` (UTF-8) to `path` atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> write_text_atomic(p, "日本語")
        >>> p.read_text(encoding="utf-8")
        '日本語'
    """
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_bytes_atomic(path, data):
    """Write `data` (bytes) to `path` atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "b.bin"
        >>> write_bytes_atomic(p, b"\\x00\\x01")
        >>> p.read_bytes()
        b'\\x00\\x01'
    """
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_json_atomic(path, obj):
    """Write `obj` as indented UTF-8 JSON (Japanese kept readable, not \\u-escaped) atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.json"
        >>> write_json_atomic(p, {"言語": "ja"})
        >>> '言語' in p.read_text(encoding="utf-8")
        True
    """
    write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
