"""`zoo data` end to end: prepare on the built-in corpus, each stage by hand, and clear errors."""

import json
import socket

import pytest

from tests.data.japanese_sample import JAPANESE_DOCUMENTS
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.cli import main
from zoo.data.pipelines import corpus_datasets
from zoo.data.shards import read_shards
from zoo.data.tokenizer import load_tokenizer


def test_prepare_with_no_input_writes_the_builtin_corpus(tmp_path, capsys):
    out = tmp_path / "corpus-builtin"
    assert main(["prepare", "--out", str(out), "--quiet"], prog="zoo data") == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [s["stage"] for s in report["stages"]] == ["acquire", "clean", "filter", "dedup"]
    assert report["inputs"]["builtin"] is True
    assert (out / "funnel.png").read_bytes()[:4] == b"\x89PNG"  # report.json drawn beside it
    assert (out / "tokenizer_splits.png").read_bytes()[:4] == b"\x89PNG"  # the corpus's own tokenizer at work
    assert report["summary"]["docs_in"] == len(load_builtin_corpus())
    docs = list(read_shards(out / "shards"))
    assert len(docs) == report["summary"]["docs_out"] == report["corpus"]["documents"] > 40
    assert len({doc.id for doc in docs}) == len(docs)
    for cluster in report["stages"][-1]["clusters"]:  # two pydoc topics share their text
        assert cluster["kept"] not in cluster["removed"]
    for before, after in zip(report["stages"], report["stages"][1:]):
        assert after["docs_in"] == before["docs_out"]  # every document is accounted for
        assert after["docs_in"] - after["docs_out"] == after["removed"] == sum(after["reasons"].values())
    tok = load_tokenizer(out / "tokenizer")
    assert tok.vocabulary_size() == 2000 and tok.end_token_id == 6
    assert "wrote" in capsys.readouterr().out
    # What a training recipe does with the folder: one call gives split datasets and the tokenizer.
    train, val, tokenizer = corpus_datasets(out, "clm", sequence_length=64, batch_size=4, validation_fraction=0.1)
    x, y = next(iter(train))
    assert x.shape == (4, 64) and val is not None and tokenizer.vocabulary_size() == 2000


@pytest.fixture
def raw_folder(tmp_path):
    folder = tmp_path / "raw-input"
    folder.mkdir()
    (folder / "ja.txt").write_text("\n\n".join(JAPANESE_DOCUMENTS), encoding="utf-8")
    (folder / "ja-copy.txt").write_text("\n\n".join(JAPANESE_DOCUMENTS), encoding="utf-8")  # exact duplicate
    body = "".join(f"<p>{text}</p>" for text in load_builtin_corpus()[3].split("\n\n"))
    (folder / "en.html").write_text(f"<html><body><article>{body}</article></body></html>", encoding="utf-8")
    records = [{"content": text} for text in load_builtin_corpus()[10:14]]
    (folder / "more.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    (folder / "sjis.txt").write_bytes("シフトJIS".encode("shift_jis"))
    return folder


def test_each_stage_by_hand_keeps_japanese_intact(raw_folder, tmp_path, capsys):
    raw, clean, dedup, tok = (str(tmp_path / name) for name in ("raw", "clean", "dedup", "tok"))
    assert main(["acquire", str(raw_folder), "--text-field", "content", "--out", raw, "--quiet"]) == 0
    assert "sjis.txt: acquire:not_utf8" in capsys.readouterr().err
    assert main(["clean", raw, "--out", clean, "--quiet", "--min-words", "30"]) == 0
    assert main(["dedup", clean, "--out", dedup, "--quiet"]) == 0
    assert main(["tokenizer", dedup, "--out", tok, "--vocab-size", "600", "--quiet"]) == 0
    texts = [doc.text for doc in read_shards(dedup)]
    japanese = [t for t in texts if "大規模言語モデル" in t]
    assert len(japanese) == 1 and japanese[0] == "\n\n".join(JAPANESE_DOCUMENTS)  # one copy, every byte kept
    report = json.loads((tmp_path / "dedup" / "report.json").read_text(encoding="utf-8"))
    assert report["stages"][0]["reasons"] == {"dedup:exact": 1}
    capsys.readouterr()
    assert main(["stats", dedup, "--tokenizer", tok, "--quiet"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == len(texts) and stats["languages"]["ja"] == 1 and stats["tokens"] > 0


def test_filter_that_removes_everything_names_the_stage(raw_folder, tmp_path, capsys):
    code = main(
        [
            "prepare",
            str(raw_folder),
            "--out",
            str(tmp_path / "c"),
            "--quiet",
            "--min-words",
            "1000000",
            "--max-words",
            "2000000",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "the filter stage removed all" in err and "quality:too_short" in err
    assert json.loads((tmp_path / "c" / "report.json").read_text(encoding="utf-8"))["stages"][-1]["docs_out"] == 0


def test_vocabulary_too_large_and_unreachable_url_are_clear(raw_folder, tmp_path, capsys):
    code = main(
        [
            "prepare",
            str(raw_folder),
            "--out",
            str(tmp_path / "v"),
            "--quiet",
            "--min-words",
            "30",
            "--vocab-size",
            "60000",
        ]
    )
    assert code == 1 and "--vocab-size" in capsys.readouterr().err
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(
        ["prepare", "--url", f"http://127.0.0.1:{port}/", "--out", str(tmp_path / "u"), "--quiet", "--delay", "0"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "the acquire stage" in err and "crawl:unreachable" in err


@pytest.mark.parametrize("command", ["acquire", "clean", "dedup", "tokenizer", "stats", "prepare"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"], prog="zoo data")
    assert exit_info.value.code == 0 and "usage: zoo data " + command in capsys.readouterr().out


def test_acquire_from_a_local_site_records_skipped_urls(tmp_path):
    from tests.data.local_site import LocalSite

    out = tmp_path / "web"
    with LocalSite() as site:
        code = main(
            [
                "acquire",
                "--url",
                site.url("/"),
                "--out",
                str(out),
                "--delay",
                "0.01",
                "--read-timeout",
                "0.5",
                "--max-bytes",
                "100000",
                "--quiet",
            ]
        )
    assert code == 0
    docs = list(read_shards(out))
    assert len(docs) == 4 and {d.kind for d in docs} == {"html", "text"}
    stage = json.loads((out / "report.json").read_text(encoding="utf-8"))["stages"][0]
    assert stage["reasons"]["crawl:robots_disallowed"] == 1 and len(stage["skipped"]) == 8
    assert len(list((out / "crawl-state" / "pages").glob("*.json"))) == 11  # all but the transient timeout


def test_japanese_html_folder_prepare_and_tokenizer_show(tmp_path, capsys):
    from tests.data.test_japanese_eval import _real_documents

    pages = tmp_path / "ja_html"
    pages.mkdir()
    for doc in _real_documents()[:25]:  # real manual pages as a folder of .html files
        (pages / (doc.id.replace("/", "_") + ".html")).write_text(
            f"<html><body>{doc.text}</body></html>", encoding="utf-8"
        )
    out = tmp_path / "corpus-ja"
    assert (
        main(
            [
                "prepare",
                str(pages),
                "--out",
                str(out),
                "--quiet",
                "--tables",
                "sentences",
                "--code",
                "drop",
                "--vocab-size",
                "1200",
            ],
            prog="zoo data",
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "html structure: tables_as_sentences" in printed and "code_blocks_dropped" in printed
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    clean = report["stages"][1]
    assert clean["structure"]["tables_as_sentences"] > 0 and clean["structure"]["code_blocks_dropped"] > 0
    assert report["stages"][2]["docs_out"] >= 0.8 * 25
    docs = list(read_shards(out / "shards"))
    assert not any(line.startswith("| ") for doc in docs for line in doc.text.split("\n"))
    assert not any("```" in doc.text for doc in docs)
    # --show trains every kind on the corpus and prints how each splits the sentence.
    assert (
        main(["tokenizer", str(out), "--show", "共有メモリーを作成する。", "--vocab-size", "1200"], prog="zoo data")
        == 0
    )
    shown = capsys.readouterr().out
    for kind in ("sentencepiece-unigram", "sentencepiece-bpe", "wordpiece", "byte-bpe"):
        assert any(line.startswith(kind) and "chars/token" in line for line in shown.splitlines()), kind
    assert main(["tokenizer", str(out)], prog="zoo data") == 1  # neither --out nor --show
