"""A full disk or a read-only folder: one line naming the path (zoo.errors.EnvironmentFault), earlier files intact."""

import errno
import os

import pytest

from zoo.data.atomic_files import atomic_open, check_free_space, disk_fault, write_json_atomic, writing_to
from zoo.errors import EnvironmentFault


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_while_writing_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    write_json_atomic(target, {"docs": 3})
    before = target.read_bytes()
    monkeypatch.setattr(os, "fsync", full_disk)  # the flush to disk is where a full disk shows
    with pytest.raises(EnvironmentFault) as info:
        write_json_atomic(target, {"docs": 4})
    message = str(info.value)
    assert message.startswith(f"cannot write {target}: no space left on device (ENOSPC)") and "\n" not in message
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_shards_on_a_full_disk_keep_the_earlier_shard(tmp_path, monkeypatch):
    from zoo.data.document import Document
    from zoo.data.shards import read_shards, write_shards

    docs = [Document(id=str(i), text=f"text {i}") for i in range(3)]
    write_shards(docs, tmp_path)
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(EnvironmentFault, match=r"shard-00000\.jsonl: no space left on device"):
        write_shards([Document(id="new", text="new")], tmp_path)
    monkeypatch.undo()
    assert [d.id for d in read_shards(tmp_path)] == ["0", "1", "2"]


def test_free_space_is_checked_before_a_large_write(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 << 20, 10 << 20, 1 << 20))
    check_free_space(tmp_path, 1 << 19)
    with pytest.raises(EnvironmentFault, match=r"needs about 2\.0 MiB but only 1\.0 MiB are free \(ENOSPC\)"):
        check_free_space(tmp_path / "not" / "made" / "yet", 2 << 20)


def test_errors_of_h5py_and_tensorflow_are_recognised_and_others_are_not():
    import tensorflow as tf

    h5py_style = OSError(None, "Can't synchronously write data (file write failed: errno = 28, error message = ...)")
    assert disk_fault(h5py_style, "ckpt.h5").errno == errno.ENOSPC
    with pytest.raises(EnvironmentFault, match="cannot write out/1: the file system is read-only"):
        with writing_to("out/1"):
            raise tf.errors.FailedPreconditionError(None, None, "out/1/variables; Read-only file system")
    with pytest.raises(FileNotFoundError):  # not a fault of the disk: left as it is
        with writing_to("x"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
    with pytest.raises(ValueError):
        with writing_to("x"):
            raise ValueError("No space left on device")  # only OSError and TensorFlow's own errors are read


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line_naming_the_file(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "old.txt").write_text("kept")
    folder.chmod(0o500)
    try:
        with pytest.raises(EnvironmentFault, match=r"cannot write .*new\.txt: permission denied \(EACCES\)"):
            with atomic_open(folder / "new.txt") as handle:
                handle.write("x")
    finally:
        folder.chmod(0o700)
    assert sorted(p.name for p in folder.iterdir()) == ["old.txt"]
