"""The Japanese evaluation set (real man pages as HTML) through clean, filter and dedup with default settings.

The real pages must survive (>= 80 % of documents and of bytes) while junk
planted among them (exact and near duplicates, menu-only pages, keyword spam,
mojibake, a page of table cells) is removed.
"""

import gzip
import json
from pathlib import Path

import pytest

from zoo.data.clean import CleanConfig, clean_documents, restructure_html
from zoo.data.document import Document, total_bytes
from zoo.data.filters import FilterConfig, judge_document
from zoo.data.language import document_language, is_japanese
from zoo.data.prepare import PrepareConfig, run_clean_and_filter, run_dedup
from zoo.data.report import PipelineReport

EVAL_SET = Path(__file__).resolve().parents[2] / "zoo" / "data" / "eval" / "ja_manpages.jsonl.gz"


def _real_documents():
    with gzip.open(EVAL_SET, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return [Document(id=row["id"], text=row["html"], source=row["source"], kind="html") for row in rows]


def _page(body):
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


def _junk(real):
    junk = []
    for i in range(4):  # exact copies of real pages
        junk.append(Document(id=f"junk-exact-{i}", text=real[10 + i].text, kind="html"))
    for i in range(4):  # near copies: a different footer line
        junk.append(
            Document(
                id=f"junk-near-{i}",
                text=real[20 + i].text.replace("</body>", f"<p>最終更新日: 2024年{i + 1}月</p></body>")
                if "</body>" in real[20 + i].text
                else real[20 + i].text + f"<p>最終更新日: 2024年{i + 1}月</p>",
                kind="html",
            )
        )
    menu = "".join(
        f"<li><a href='/p{k}'>{name}</a></li>"
        for k, name in enumerate(
            ["ホーム", "製品情報", "サポート", "ダウンロード", "会社概要", "お問い合わせ", "採用情報"]
        )
    )
    for i in range(3):  # boilerplate: navigation menus and nothing else
        junk.append(
            Document(id=f"junk-menu-{i}", text=_page(f"<nav><ul>{menu}</ul></nav><ul>{menu}</ul>"), kind="html")
        )
    spam = "格安スマホ 比較 おすすめ ランキング 最安値 激安 "
    for i in range(3):  # keyword spam
        junk.append(Document(id=f"junk-spam-{i}", text=_page(f"<p>{spam * (40 + i)}</p>"), kind="html"))
    for i in range(3):  # mojibake that cannot be repaired: Shift_JIS bytes read as Windows-1252
        source = real[30 + i]
        text = clean_documents([source], progress=False)[0][0].text[:1500]
        broken = text.encode("shift_jis", errors="replace").decode("cp1252", errors="replace")
        junk.append(Document(id=f"junk-mojibake-{i}", text=broken, kind="text"))
    rows = "".join(f"<tr><td>{r}</td><td>{r * 7 % 13}</td><td>注記</td><td>{r * 3}</td></tr>" for r in range(60))
    junk.append(Document(id="junk-table", text=_page(f"<table>{rows}</table>"), kind="html"))  # a page of cells
    return junk


@pytest.fixture(scope="module")
def pipeline_run():
    real = _real_documents()
    junk = _junk(real)
    report = PipelineReport(name="ja-eval")
    config = PrepareConfig()  # every default
    kept = run_clean_and_filter(real + junk, config, report, progress=False)
    kept = run_dedup(kept, config, report, progress=False)
    return real, junk, kept, report


def test_eval_set_is_real_and_compact():
    real = _real_documents()
    assert len(real) >= 100 and EVAL_SET.stat().st_size < 400_000
    assert all(doc.source.startswith("manpages-ja:") for doc in real)


def test_defaults_keep_real_japanese_and_remove_planted_junk(pipeline_run):
    real, junk, kept, report = pipeline_run
    real_ids = {doc.id for doc in real}
    cleaned_real, _ = clean_documents(real, progress=False)
    kept_real = [doc for doc in kept if doc.id in real_ids]
    doc_share = len(kept_real) / len(real)
    byte_share = total_bytes(kept_real) / total_bytes(cleaned_real)
    print(f"real pages kept: {len(kept_real)}/{len(real)} ({doc_share:.1%}), bytes {byte_share:.1%}")
    assert doc_share >= 0.8 and byte_share >= 0.8
    survivors = sorted(doc.id for doc in kept if doc.id.startswith("junk-"))
    assert survivors == []
    # Every stage says why, per language: the report's reasons_by_language.
    for entry in report.stages:
        print(entry["stage"], entry.get("reasons_by_language"), entry.get("structure"), entry.get("section_reasons"))
    filter_entry = next(e for e in report.stages if e["stage"] == "filter")
    assert "ja" in filter_entry["reasons_by_language"]
    dedup_entry = next(e for e in report.stages if e["stage"] == "dedup")
    assert dedup_entry["reasons"].get("dedup:exact", 0) >= 4 and dedup_entry["reasons"].get("dedup:near", 0) >= 4
    clean_entry = next(e for e in report.stages if e["stage"] == "clean")
    assert clean_entry["structure"]["tables_dropped"] > 100 and clean_entry["structure"]["code_blocks_kept"] > 50


def test_no_pipe_grids_reach_the_corpus(pipeline_run):
    _, _, kept, _ = pipeline_run
    grid_lines = [line for doc in kept for line in doc.text.split("\n") if line.startswith("|") and line.endswith("|")]
    assert grid_lines == []


def test_mixed_japanese_english_is_japanese():
    text = "Keras 3 の Dense レイヤーは TensorFlow と JAX のどちらでも動きます。pip install keras で入れます。"
    assert is_japanese(text) and document_language(text) == "ja"
    assert not is_japanese("这是一个中文句子，没有假名。") and not is_japanese("Only English here.")


def test_long_documents_are_judged_by_section():
    chapter = next(
        doc
        for doc in clean_documents(_real_documents(), progress=False)[0]
        if 2 * 5000 < len(doc.text) and judge_document(doc.text, FilterConfig())[2] == []
    )
    spam = "激安セール開催中！今すぐクリック！\n" * 300
    reason, text, dropped = judge_document(chapter.text + "\n" + spam, FilterConfig())
    # The chapter stays (its last section, shared with the first spam lines, may go); the spam goes.
    assert reason is None and text.startswith(chapter.text[:4000]) and len(text) > 0.6 * len(chapter.text)
    assert text.count("激安") < 300 * 0.2
    assert dropped and all(r.startswith("quality:") for r, _ in dropped)
    # Judged whole, the same chapter goes with its spam.
    assert judge_document(chapter.text + "\n" + spam, FilterConfig(section_chars=None))[0] is not None


def test_tables_code_and_menus_are_configurable():
    page = _page(
        "<p>本文です。</p><table><tr><th>名前</th><th>型</th></tr><tr><td>幅</td><td>整数</td></tr></table>"
        "<pre>def f():\n    return 1</pre>"
        "<ul><li><a href='/a'>ホーム</a></li><li><a href='/b'>製品</a></li><li><a href='/c'>会社</a></li></ul>"
    )
    html, counts, code = restructure_html(page, CleanConfig(tables="sentences", code="keep"))
    assert "名前: 幅, 型: 整数。" in html and code == ["def f():\n    return 1"]
    assert counts["tables_as_sentences"] == 1 and counts["menus_dropped"] == 1 and "ホーム" not in html
    html, counts, code = restructure_html(page, CleanConfig(tables="drop", code="drop"))
    assert "整数" not in html and "return 1" not in html and code == []
    assert counts["tables_dropped"] == 1 and counts["code_blocks_dropped"] == 1
    with pytest.raises(ValueError, match="tables"):
        CleanConfig(tables="grid")


def test_restructure_off_gives_the_extractor_the_page_as_it_is():
    page = _page("<p>本文です。これは説明の段落です。</p><table><tr><td>セル一</td><td>セル二</td></tr></table>")
    from zoo.data.clean import html_to_text

    counts = {}
    assert "セル一" not in html_to_text(page, counts=counts) and counts["tables_dropped"] == 1
    assert "| セル一 | セル二 |" in html_to_text(page, config=CleanConfig(restructure=False))
