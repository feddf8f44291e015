"""Versioned export folders: numbers count up, nothing is overwritten, a failed export leaves nothing."""

import os

import pytest

from zoo.export.versions import existing_versions, next_version, versioned_folder


def write_version(root, name, version=None, content=b"model"):
    with versioned_folder(root, name, version) as (tmp, number):
        with open(os.path.join(tmp, "saved_model.pb"), "wb") as f:
            f.write(content)
    return number


def test_versions_count_up_from_the_highest_and_ignore_other_folders(tmp_path):
    assert write_version(tmp_path, "cnn") == 1
    assert write_version(tmp_path, "cnn", 7) == 7
    os.makedirs(tmp_path / "cnn" / "tflite")  # not a version: TF Serving ignores it too
    assert next_version(tmp_path / "cnn") == 8
    assert write_version(tmp_path, "cnn") == 8
    assert existing_versions(tmp_path / "cnn") == [1, 7, 8]
    assert sorted(os.listdir(tmp_path / "cnn")) == ["1", "7", "8", "tflite"]


def test_an_existing_version_is_never_overwritten(tmp_path):
    write_version(tmp_path, "cnn", 2, b"first")
    with pytest.raises(FileExistsError, match=r"Version 2 of 'cnn' already exists.*next free one \(3\)"):
        write_version(tmp_path, "cnn", 2, b"second")
    assert (tmp_path / "cnn" / "2" / "saved_model.pb").read_bytes() == b"first"
    assert sorted(os.listdir(tmp_path / "cnn")) == ["2"]


def test_a_failed_export_leaves_no_version_and_no_temporary_folder(tmp_path):
    with pytest.raises(RuntimeError, match="disk full"):
        with versioned_folder(tmp_path, "lm") as (tmp, _):
            with open(os.path.join(tmp, "saved_model.pb"), "wb") as f:
                f.write(b"half")
            raise RuntimeError("disk full")
    assert os.listdir(tmp_path / "lm") == []


def test_a_version_that_appears_during_the_export_is_not_replaced(tmp_path):
    with pytest.raises(FileExistsError, match="appeared .* while this export was being written"):
        with versioned_folder(tmp_path, "lm") as (tmp, version):
            os.makedirs(tmp_path / "lm" / str(version))  # another exporter wins the race
            (tmp_path / "lm" / str(version) / "saved_model.pb").write_bytes(b"theirs")
    assert (tmp_path / "lm" / "1" / "saved_model.pb").read_bytes() == b"theirs"
    assert os.listdir(tmp_path / "lm") == ["1"]


@pytest.mark.parametrize(
    "name, version, message",
    [
        ("my model", None, "letters, digits"),
        ("../escape", None, "letters, digits"),
        ("cnn", 0, "positive integer"),
        ("cnn", True, "positive integer"),
    ],
)
def test_bad_names_and_versions_are_refused_before_anything_is_written(tmp_path, name, version, message):
    with pytest.raises(ValueError, match=message):
        write_version(tmp_path, name, version)
    assert os.listdir(tmp_path) == []
