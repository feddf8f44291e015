"""Report, shards and atomic writes: counts per stage, clear empty-corpus errors, no half-written files."""

import json

import pytest

from zoo.data.atomic_files import atomic_open, write_json_atomic
from zoo.data.document import Document
from zoo.data.report import EmptyCorpusError, PipelineReport
from zoo.data.shards import read_shards, shard_paths, write_shards


def test_report_counts_documents_bytes_and_reasons(tmp_path):
    docs = [Document(id=str(i), text="日本語" * (i + 1)) for i in range(4)]
    report = PipelineReport(name="t")
    report.add_stage("acquire", None, docs, skipped=[{"source": "x.txt", "reason": "acquire:not_utf8", "detail": ""}])
    entry = report.add_stage(
        "filter", docs, docs[2:], removed=[(docs[0], "quality:too_short"), (docs[1], "quality:too_short")]
    )
    assert entry["docs_in"] == 4 and entry["docs_out"] == 2 and entry["removed_bytes"] == 9 + 18
    assert entry["examples"]["quality:too_short"][0]["id"] == "0"
    saved = json.loads(report.save(tmp_path / "report.json").read_text(encoding="utf-8"))
    assert saved["summary"]["docs_in"] == 4 and saved["summary"]["docs_out"] == 2
    assert saved["summary"]["top_removal_reasons"] == {"quality:too_short": 2, "acquire:not_utf8": 1}


def test_a_stage_that_removes_everything_is_named():
    docs = [Document(id="1", text="x")]
    with pytest.raises(EmptyCorpusError, match=r"the dedup stage removed all 1 documents .*dedup:exact: 1"):
        PipelineReport().add_stage("dedup", docs, [], removed=[(docs[0], "dedup:exact")])


def test_shards_round_trip_and_replace_old_ones(tmp_path):
    docs = [Document(id=str(i), text=f"文書{i}\n改行あり", source="s") for i in range(10)]
    paths = write_shards(docs, tmp_path, max_shard_bytes=200)
    assert len(paths) > 1 and list(read_shards(tmp_path)) == docs
    write_shards(docs[:1], tmp_path)
    assert shard_paths(tmp_path) == [tmp_path / "shard-00000.jsonl"]  # the stale shards are gone
    (tmp_path / "shard-00000.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="shard is damaged"):
        list(read_shards(tmp_path))


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "report.json"
    write_json_atomic(path, {"version": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(path) as handle:
            handle.write('{"version": 2, "half')
            raise RuntimeError("crash while writing")
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp file left behind
