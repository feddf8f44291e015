"""Atomic file writes: a reader never sees a half-written file, and a full disk is one clear line.

Every file zoo saves (shards, reports, tokenizer files, crawl state, run
folders, checkpoints, exports) goes through here: the bytes land in a temporary
file in the same folder, are flushed to disk, and only then renamed over the
target. A crash or a bad input midway leaves the previous file untouched.
`atomic_folder` does the same for a whole folder (a checkpoint step).

A write that fails because the disk is full or the folder is read-only or
forbidden (ENOSPC, EDQUOT, EROFS, EACCES, EPERM) raises
`zoo.errors.EnvironmentFault` naming the path, instead of a library's own
traceback; `writing_to` does that around any writer (h5py, TensorFlow), and
`check_free_space` refuses a large write before it starts, because h5py can
crash the process after a failed write.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "report.json"
    >>> write_json_atomic(path, {"docs": 3})
    >>> path.read_text(encoding="utf-8").strip()
    '{\\n  "docs": 3\\n}'
"""

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from zoo.errors import EnvironmentFault

# The errors of the machine, not of the data: what each one means for the user.
DISK_FAULTS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def disk_fault(err, path):
    """The EnvironmentFault for an OSError of a full disk or read-only/forbidden folder while writing `path`, or None.

    h5py puts the C errno into its message ("errno = 28") rather than into `err.errno`; both are read.

    Example:
        >>> str(disk_fault(OSError(errno.ENOSPC, "No space left on device"), "runs/a/model.keras"))
        'cannot write runs/a/model.keras: no space left on device (ENOSPC). Free some space or write somewhere else; files written before are intact.'
        >>> disk_fault(OSError(errno.ENOENT, "No such file"), "x") is None
        True
    """
    if isinstance(err, EnvironmentFault):
        return err
    code = err.errno if isinstance(err, OSError) else None
    if code not in DISK_FAULTS:
        found = re.search(r"errno = (\d+)", str(err))
        code = int(found.group(1)) if found else code
    if code not in DISK_FAULTS and not isinstance(err, OSError):
        # TensorFlow's file layer raises its own errors (ResourceExhaustedError, PermissionDeniedError...) and
        # keeps only the C library's text of the errno.
        text = str(err)
        code = next((c for c in DISK_FAULTS if os.strerror(c) in text), None)
    if code not in DISK_FAULTS:
        return None
    fault = EnvironmentFault(
        f"cannot write {path}: {DISK_FAULTS[code]} ({errno.errorcode[code]}). "
        + (
            "Free some space or write somewhere else"
            if code in (errno.ENOSPC, errno.EDQUOT)
            else "Choose a folder you can write to"
        )
        + "; files written before are intact."
    )
    fault.errno = code
    return fault


@contextlib.contextmanager
def writing_to(path):
    """Turn a disk-full or read-only OSError raised inside the block into an EnvironmentFault naming `path`.

    Example:
        >>> with writing_to("runs/a/model.keras"):
        ...     raise OSError(errno.EROFS, "Read-only file system")
        Traceback (most recent call last):
        ...
        zoo.errors.EnvironmentFault: cannot write runs/a/model.keras: the file system is read-only (EROFS). Choose a folder you can write to; files written before are intact.
    """
    try:
        yield
    except Exception as err:
        # OSError from Python and h5py; TensorFlow's own errors from tf.io and tf.saved_model.
        if not isinstance(err, OSError) and not type(err).__module__.startswith("tensorflow"):
            raise
        fault = disk_fault(err, path)
        if fault is None or fault is err:
            raise
        raise fault from None


def check_free_space(folder, needed_bytes):
    """Raise EnvironmentFault (ENOSPC) when the file system of `folder` has less than `needed_bytes` free.

    Example:
        >>> check_free_space(tempfile.gettempdir(), 1)
    """
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed_bytes:
        fault = EnvironmentFault(
            f"cannot write {folder}: it needs about {needed_bytes / 2**20:.1f} MiB but only {free / 2**20:.1f} MiB "
            "are free (ENOSPC). Free some space or write somewhere else; files written before are intact."
        )
        fault.errno = errno.ENOSPC
        raise fault


@contextlib.contextmanager
def atomic_folder(path):
    """Yield a temporary folder beside `path`; rename it to `path` only if the block succeeds.

    `path` must not exist yet. A crash leaves at most a hidden `.tmp-*` folder, never a half-written `path`.

    Example:
        >>> root = Path(tempfile.mkdtemp())
        >>> with atomic_folder(root / "step-3") as tmp:
        ...     _ = (Path(tmp) / "a.txt").write_text("x")
        >>> sorted(p.name for p in root.iterdir())
        ['step-3']
    """
    path = Path(path)
    with writing_to(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with writing_to(path):
            yield tmp
            _fsync_folder(tmp)
            os.rename(tmp, path)
            _fsync_folder(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fsync_folder(folder):
    # Flush the files and the folder entry, so that after a power cut the rename never points at empty files.
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        if os.path.isfile(full):
            with open(full, "rb") as handle:
                os.fsync(handle.fileno())
    with contextlib.suppress(OSError):  # not every file system can fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
    with writing_to(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same folder as the target so that os.replace is a rename, never a copy.
        # The process id in the name lets a later run tell a dead writer's leftover from a live one's.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file private (0600); give it the mode a plain open() would have.
    os.chmod(tmp_name, 0o666 & ~_umask())
    binary = "b" in mode
    try:
        with writing_to(path):
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
