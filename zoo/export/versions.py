"""Versioned export folders: `<root>/<name>/<version>/`, TF Serving's model layout.

TF Serving watches `<root>/<name>/` and serves the highest numbered folder in it,
so a version must appear all at once and never change afterwards. Every export
is written to a hidden temporary folder beside the versions (TF Serving ignores
names that are not numbers) and renamed into place only when it is complete; an
existing version is never overwritten.

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> with versioned_folder(root, "cnn") as (tmp, version):
    ...     _ = open(os.path.join(tmp, "saved_model.pb"), "wb").write(b"")
    >>> version, existing_versions(os.path.join(root, "cnn"))
    (1, [1])
"""

import contextlib
import json
import os
import re
import shutil

from zoo.data.atomic_files import writing_to
from zoo.data.atomic_folders import remove_dead_temporaries

# TF Serving reads version folder names as int64.
MAX_VERSION = 2**63 - 1

# A temporary export folder, `.tmp-<version>-<pid>`.
_TMP_PATTERN = r"^\.tmp-\d+-(?P<pid>\d+)$"

# TF Serving model names end up in URLs (/v1/models/<name>:predict) and folder names.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_model_name(name):
    """Return `name` if it is a usable model name (letters, digits, `_`, `.`, `-`), else raise ValueError."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"Model name {name!r} cannot be used: it becomes a folder and the URL /v1/models/<name>:predict, "
            "so use letters, digits, '_', '.' and '-' only, starting with a letter or digit (e.g. --name cnn)."
        )
    return name


def existing_versions(model_dir):
    """The version numbers already in `model_dir` (folders named by a positive integer), sorted."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(entry) for entry in os.listdir(model_dir) if entry.isdigit() and int(entry) > 0)


def next_version(model_dir):
    """The version a new export gets: one more than the highest existing one, starting at 1."""
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def check_version(version):
    """Return `version` as an int if it is a positive integer TF Serving can hold (int64), else raise ValueError."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise ValueError(
            f"A version must be a positive integer up to {MAX_VERSION} (TF Serving's int64 folder names), "
            f"got {version!r}."
        )
    return version


@contextlib.contextmanager
def versioned_folder(root, name, version=None):
    """Yield `(temporary folder, version)`; on success the folder becomes `<root>/<name>/<version>/`.

    If the block raises, the temporary folder is removed and no version appears.
    """
    check_model_name(name)
    model_dir = os.path.join(root, name)
    version = next_version(model_dir) if version is None else check_version(version)
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(
            f"Version {version} of {name!r} already exists at {final}; an exported version is never overwritten. "
            f"Omit --version to write the next free one ({next_version(model_dir)}), or pick another number."
        )
    if os.path.isdir(model_dir):
        remove_dead_temporaries(model_dir, pattern=_TMP_PATTERN)  # left by exports whose process died
    tmp = os.path.join(model_dir, f".tmp-{version}-{os.getpid()}")
    with writing_to(model_dir):
        os.makedirs(model_dir, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)  # left over from a crashed export of this same process id
        os.makedirs(tmp)
    try:
        yield tmp, version
        if os.path.exists(final):  # another export took this number while we were writing
            raise FileExistsError(
                f"Version {version} of {name!r} appeared at {final} while this export was being written; "
                "nothing was overwritten. Run the export again to get the next free version."
            )
        with writing_to(final):
            os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_file_export(folder, filename, content, assets, manifest):
    """Fill an export folder of one model file: `filename` (bytes), `assets/` and `zoo_export.json`.

    The layout TFLite and LiteRT exports share; `folder` is the temporary folder
    `versioned_folder` yields, so a failure here publishes nothing.

    Example:
        >>> with versioned_folder(root, "cnn") as (tmp, version):            # doctest: +SKIP
        ...     write_file_export(tmp, "model.tflite", content, [], {"name": "cnn", "version": version})
    """
    with open(os.path.join(folder, filename), "wb") as f:
        f.write(content)
    if assets:
        os.makedirs(os.path.join(folder, "assets"))
        for path in assets:
            shutil.copy2(path, os.path.join(folder, "assets", os.path.basename(path)))
    with open(os.path.join(folder, "zoo_export.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
