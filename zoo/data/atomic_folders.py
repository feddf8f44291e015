"""Atomic folders: a corpus folder is replaced whole or not at all, and temporary leftovers are cleaned.

`zoo data prepare` builds its corpus (shards, tokenizer, report) in a hidden
sibling folder `.<name>.tmp-<pid>` and only then swaps it in for the old one, so
a process killed midway (say, while the tokenizer is written) leaves the previous
corpus exactly as it was, never new shards beside an old tokenizer. Temporary
names carry the writer's process id: `remove_dead_temporaries` deletes those whose
process is gone (and puts back a corpus whose swap was cut between its two
renames), while a build still running in another process is left alone.

Example:
    >>> import tempfile, pathlib
    >>> final = pathlib.Path(tempfile.mkdtemp()) / "corpus"
    >>> with staged_folder(final) as tmp:
    ...     _ = (tmp / "report.json").write_text("{}")
    >>> sorted(p.name for p in final.iterdir())
    ['report.json']
"""

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
from pathlib import Path

_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)$")
_RENAME_EXCHANGE = 2  # linux/fs.h: swap two paths in one step


def pid_alive(pid):
    """Whether a process with id `pid` exists (ours counts as alive).

    Example:
        >>> pid_alive(os.getpid())
        True
    """
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process, alive
        return True
    except OverflowError:
        return False
    return True


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_dead_temporaries(parent, pattern=None):
    """Remove entries of `parent` left by dead processes; return the names removed.

    Recognised names: `.<name>.tmp-<pid>` and `.<name>.old-<pid>` (staged corpus folders),
    `.<file>.<pid>.<random>.tmp` (atomic file writes), or any name `pattern` (a regex with a
    `pid` group) matches, such as export's `.tmp-<version>-<pid>`. An `.old-<pid>` folder whose
    `<name>` is missing is a swap cut short: it is renamed back to `<name>` instead.

    Example:
        >>> import tempfile, pathlib
        >>> parent = pathlib.Path(tempfile.mkdtemp())
        >>> (parent / ".corpus.tmp-999999999").mkdir()
        >>> remove_dead_temporaries(parent)
        ['.corpus.tmp-999999999']
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    file_re = re.compile(r"^\..+\.(?P<pid>\d+)\.[^.]+\.tmp$")
    extra_re = re.compile(pattern) if pattern else None
    for entry in sorted(parent.iterdir()):
        match = _TEMP_RE.match(entry.name) or file_re.match(entry.name) or (extra_re and extra_re.match(entry.name))
        if not match or pid_alive(int(match.group("pid"))):
            continue
        groups = match.groupdict()
        if groups.get("kind") == "old" and not (parent / groups["name"]).exists():
            os.rename(entry, parent / groups["name"])  # the old corpus was moved aside, the new one never arrived
            continue
        _remove(entry)
        removed.append(entry.name)
    return removed


def _exchange(a, b):
    """Swap paths `a` and `b` in one rename (Linux renameat2); False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False  # a file system without RENAME_EXCHANGE: fall back to two renames
    raise OSError(code, os.strerror(code), str(b))


def replace_folder(staged, final, keep=()):
    """Put folder `staged` in place of `final` (which may not exist) and delete the old one.

    Entries of the old folder named in `keep` that `staged` lacks (e.g. `crawl-state`) move over first.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "new").mkdir(); _ = (root / "new" / "a").write_text("new")
        >>> (root / "c").mkdir(); _ = (root / "c" / "a").write_text("old")
        >>> replace_folder(root / "new", root / "c"); (root / "c" / "a").read_text()
        'new'
    """
    staged, final = Path(staged), Path(final)
    if not final.exists():
        os.rename(staged, final)
        return
    for name in keep:
        if (final / name).exists() and not (staged / name).exists():
            os.rename(final / name, staged / name)
    if _exchange(staged, final):
        shutil.rmtree(staged, ignore_errors=True)  # now the old folder
        return
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    os.rename(final, old)
    try:
        os.rename(staged, final)
    except BaseException:
        os.rename(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(final, keep=()):
    """Yield an empty hidden folder beside `final`; if the block succeeds it replaces `final` whole.

    If the block raises (or the process dies), `final` is untouched; dead processes' temporaries
    beside it are removed first.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(final.parent)
    if final.is_dir():
        remove_dead_temporaries(final)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    _remove(tmp)
    tmp.mkdir()
    try:
        yield tmp
        replace_folder(tmp, final, keep=keep)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
