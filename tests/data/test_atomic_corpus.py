"""`zoo data prepare` replaces a corpus whole or not at all; dead processes' temporaries are cleaned."""

import subprocess

import pytest

from zoo.data.atomic_folders import remove_dead_temporaries
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.prepare import PrepareConfig, prepare_corpus
from zoo.export.versions import versioned_folder


def _dead_pid():
    """The id of a process that has just exited (a pid nobody holds for a while)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _inputs(tmp_path, name, topics):
    folder = tmp_path / name
    folder.mkdir()
    for i in topics:
        (folder / f"t{i}.txt").write_text(load_builtin_corpus()[i], encoding="utf-8")
    return folder


def test_a_crash_at_the_tokenizer_write_leaves_the_old_corpus_whole(tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    config = PrepareConfig(output=str(out), tokenizer_kind="byte-bpe", vocab_size=300, apply_filter=False)
    prepare_corpus([_inputs(tmp_path, "a", range(0, 6))], config=config, progress=False, log=lambda *_: None)
    before = _snapshot(out)
    assert {"report.json", "tokenizer/tokenizer.json", "shards/shard-00000.jsonl"} <= set(before)

    import zoo.data.tokenizer

    real_save = zoo.data.tokenizer.save_tokenizer

    def dies_midway(tokenizer, folder):
        real_save(tokenizer, folder)  # the files are on disk, then the process "dies"
        raise KeyboardInterrupt("killed at the tokenizer write")

    monkeypatch.setattr(zoo.data.tokenizer, "save_tokenizer", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        prepare_corpus([_inputs(tmp_path, "b", range(20, 30))], config=config, progress=False, log=lambda *_: None)
    assert _snapshot(out) == before  # old shards, old tokenizer, old report: nothing mixed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    monkeypatch.setattr(zoo.data.tokenizer, "save_tokenizer", real_save)
    prepare_corpus([_inputs(tmp_path, "c", range(20, 30))], config=config, progress=False, log=lambda *_: None)
    after = _snapshot(out)
    assert after["shards/shard-00000.jsonl"] != before["shards/shard-00000.jsonl"]
    assert set(after) == set(before)


def test_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    dead = _dead_pid()
    (tmp_path / f".corpus.tmp-{dead}").mkdir()
    (tmp_path / f".report.json.{dead}.abc123.tmp").write_text("half")
    (tmp_path / ".corpus.tmp-1").mkdir()  # pid 1 (init) is alive: another build in progress
    # A swap cut between its two renames: the old corpus is put back, not deleted.
    (tmp_path / f".mine.old-{dead}").mkdir()
    (tmp_path / f".mine.old-{dead}" / "report.json").write_text("{}")
    removed = remove_dead_temporaries(tmp_path)
    assert sorted(removed) == sorted([f".corpus.tmp-{dead}", f".report.json.{dead}.abc123.tmp"])
    assert (tmp_path / ".corpus.tmp-1").is_dir() and (tmp_path / "mine" / "report.json").is_file()


def test_export_cleans_a_dead_exports_temporary_folder(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / "cnn" / f".tmp-1-{dead}"
    stale.mkdir(parents=True)
    (stale / "saved_model.pb").write_bytes(b"half")
    with versioned_folder(tmp_path, "cnn") as (tmp, version):
        (tmp_path / "cnn" / tmp / "saved_model.pb").write_bytes(b"")
    assert sorted(p.name for p in (tmp_path / "cnn").iterdir()) == ["1"]
