"""Acquire stage from local files: txt/md/html/jsonl, gzip, text field, bad files skipped and reported."""

import gzip
import json
import os

import pytest

from zoo.data.acquire import acquire_paths, read_file


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "notes.txt").write_text("日本語のメモです。\n二行目。", encoding="utf-8")
    (tmp_path / "readme.md").write_text("# Title\n\nSome *markdown* text.", encoding="utf-8")
    (tmp_path / "page.html").write_text("<html><body><p>ページ</p></body></html>", encoding="utf-8")
    (tmp_path / "bom.txt").write_bytes("\ufeffwith a BOM".encode("utf-8"))
    lines = [{"id": "r1", "body": "一つ目の記録"}, {"body": "second record"}, {"title": "no body"}]
    (tmp_path / "records.jsonl.gz").write_bytes(
        gzip.compress(("\n".join(json.dumps(r, ensure_ascii=False) for r in lines) + "\n{broken\n").encode())
    )
    (tmp_path / "sjis.txt").write_bytes("シフトJISの文章".encode("shift_jis"))
    (tmp_path / "bad.txt.gz").write_bytes(b"not gzip at all")
    (tmp_path / "empty.md").write_text("   \n", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / ".hidden.txt").write_text("hidden", encoding="utf-8")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.txt.gz").write_bytes(gzip.compress("深い階層".encode("utf-8")))
    return tmp_path


def test_folder_is_read_recursively_with_every_format(folder):
    result = acquire_paths([folder], text_field="body", progress=False)
    texts = {os.path.basename(d.source.split(":")[0]): d for d in result.documents}
    assert texts["notes.txt"].text == "日本語のメモです。\n二行目。"
    assert texts["page.html"].kind == "html" and texts["readme.md"].kind == "text"
    assert texts["bom.txt"].text == "with a BOM"
    assert texts["deep.txt.gz"].text == "深い階層"
    jsonl = [d for d in result.documents if "records.jsonl.gz" in d.source]
    assert [(d.id, d.text) for d in jsonl] == [("r1", "一つ目の記録"), (jsonl[1].id, "second record")]
    assert ".hidden.txt" not in texts


def test_bad_files_are_skipped_with_reasons(folder):
    result = acquire_paths([folder], text_field="body", progress=False)
    reasons = {(os.path.basename(s["source"]), s["reason"]) for s in result.skipped}
    assert reasons == {
        ("sjis.txt", "acquire:not_utf8"),
        ("bad.txt.gz", "acquire:unreadable"),
        ("empty.md", "acquire:empty_file"),
        ("image.png", "acquire:unsupported_type"),
        ("records.jsonl.gz", "acquire:jsonl_bad_line"),
        ("records.jsonl.gz", "acquire:jsonl_missing_field"),
    }
    sjis = next(s for s in result.skipped if s["reason"] == "acquire:not_utf8")
    assert "iconv" in sjis["detail"]
    missing = next(s for s in result.skipped if s["reason"] == "acquire:jsonl_missing_field")
    assert "--text-field" in missing["detail"] and "[3]" in missing["detail"]


def test_default_text_field_and_missing_path(folder, tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text('{"text": "hello"}\n', encoding="utf-8")
    assert [d.text for d in read_file(path).documents] == ["hello"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        acquire_paths([tmp_path / "nope"], progress=False)
