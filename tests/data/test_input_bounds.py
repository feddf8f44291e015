"""Input resource bounds: decompressed and per-document size caps, HTML nesting depth, --seq-len range, and
the memory estimate checked against the memory this machine has before training."""

import gzip
import json
import re
import resource
import time
import tracemalloc
import types

import pytest

from zoo.data.acquire import acquire_paths, read_file
from zoo.data.clean import CleanConfig, clean_documents, html_depth
from zoo.data.document import Document
from zoo.data.report import PipelineReport


def test_a_gzip_bomb_stops_at_the_decompressed_cap(tmp_path):
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b"spam " * (8 * 2**20), compresslevel=9))  # 40 MiB of text in ~40 KB
    assert bomb.stat().st_size < 2**20
    tracemalloc.start()
    try:
        result = read_file(bomb, max_file_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.documents == [] and result.skipped[0]["reason"] == "acquire:file_too_large"
    assert peak < 8 * 2**20  # read in chunks up to the cap, never the 40 MiB


def test_oversized_documents_are_skipped_and_reported(tmp_path):
    lines = [json.dumps({"text": "x" * 300_000}), json.dumps({"text": "a small document"})]
    (tmp_path / "docs.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "book.txt").write_text("y" * 300_000, encoding="utf-8")
    result = acquire_paths([tmp_path], progress=False, max_document_bytes=100_000)
    assert [doc.text for doc in result.documents] == ["a small document"]
    report = PipelineReport()
    stage = report.add_stage("acquire", None, result.documents, skipped=result.skipped)
    assert stage["reasons"] == {"acquire:document_too_large": 2}


def test_deeply_nested_html_is_removed_without_parsing():
    bomb = "<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000 + "</body></html>"
    page = "<html><body><article><p>" + "A normal page about cats. " * 20 + "</p></article></body></html>"
    docs = [Document(id="bomb", text=bomb, kind="html"), Document(id="page", text=page, kind="html")]
    started = time.perf_counter()
    kept, removed = clean_documents(docs, CleanConfig(), progress=False)
    assert time.perf_counter() - started < 5  # parsing the bomb took minutes
    assert [d.id for d in kept] == ["page"] and [(d.id, r) for d, r in removed] == [("bomb", "clean:html_too_deep")]
    assert html_depth(page) == 3 and html_depth(bomb, stop_at=600) == 601


def test_an_absurd_seq_len_is_refused_at_the_command_line(capsys):
    from zoo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["finetune-sentiment", "--seq-len", "10000000"])
    assert exit_info.value.code == 2 and "--seq-len" in capsys.readouterr().err


def test_memory_estimate_is_checked_against_available_memory_without_max_memory():
    from zoo.errors import UsageError
    from zoo.llm.models.presets import get_preset
    from zoo.train.memory_check import available_memory, check_available_memory, training_memory
    from zoo.train.pretraining import check_fits

    config = get_preset("tiny").replace(max_length=4096)
    # Bound this process's address space just above what it uses: available_memory must see the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as handle:
        used = int(handle.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, hard))
    try:
        free = available_memory()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert 0 < free <= 2**30
    assert training_memory(config, 16, 4096)["total"] > 20 * 2**30  # the case: seq 4096 x batch 16
    with pytest.raises(ValueError, match=r"largest batch that fits is (\d+)") as info:
        check_available_memory(config, 64, 1024, available=free)
    fits = int(re.search(r"largest batch that fits is (\d+)", str(info.value)).group(1))
    assert training_memory(config, fits, 1024)["total"] <= free < training_memory(config, fits + 1, 1024)["total"]
    # Wired into every LLM pretraining run (no --max-memory given): a one-line usage error before building.
    options = types.SimpleNamespace(
        max_memory=None, batch_size=4096, seq_len=4096, precision="float32", remat=False, accum_steps=1
    )
    with pytest.raises(UsageError, match="this machine has free"):
        check_fits(options, config.replace(num_layers=24, hidden_dim=2048, intermediate_dim=8192), None)


def test_zoo_explain_says_whether_the_estimate_fits_this_machine(monkeypatch, capsys):
    import zoo.train.memory_check as memory_check
    from zoo.llm.models.presets import get_preset
    from zoo.llm.sizing.explain import main

    monkeypatch.setattr(memory_check, "available_memory", lambda: 2**30)
    assert main(["tiny", "--set", "max_length=4096", "--seq-len", "1024", "--batch-size", "64", "--json"]) == 0
    machine = json.loads(capsys.readouterr().out)["this_machine"]
    config = get_preset("tiny").replace(max_length=4096)
    fits = machine["largest_batch"]
    assert machine["fits"] is False and machine["free_bytes"] == 2**30
    total = memory_check.training_memory
    assert total(config, fits, 1024)["total"] <= 2**30 < total(config, fits + 1, 1024)["total"]
