"""Clean stage: HTML to text, NFKC, invisible characters, whitespace, mojibake, Japanese intact."""

from tests.data.japanese_sample import JAPANESE_DOCUMENTS
from zoo.data.clean import CleanConfig, clean_documents, html_to_text, normalize_text
from zoo.data.document import Document


def test_html_main_text_drops_boilerplate():
    paragraphs = "".join(f"<p>{text}</p>" for text in JAPANESE_DOCUMENTS[:4])
    page = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<header><nav><ul><li><a href='/'>ホーム</a></li><li><a href='/x'>メニュー</a></li></ul></nav></header>"
        f"<article>{paragraphs}</article><footer><p>© 2024 copyright</p></footer>"
        "<script>var tracking = 1;</script></body></html>"
    )
    text = html_to_text(page)
    for doc in JAPANESE_DOCUMENTS[:4]:
        assert doc in text  # every paragraph, byte for byte
    assert "tracking" not in text and "color: red" not in text and "メニュー" not in text


def test_tiny_html_page_still_gives_its_text():
    assert html_to_text("<html><body><p>短いメモ。</p><script>x()</script></body></html>") == "短いメモ。"


def test_nfkc_invisible_characters_and_whitespace():
    raw = "ＡＢＣ１２３　ｶﾀｶﾅ\u200bゼロ幅\u00adソフト\ufeff\x07ベル  two   spaces \r\n\r\n\r\n\r\nnext\t\tline  "
    assert normalize_text(raw) == "ABC123 カタカナゼロ幅ソフトベル two spaces\n\nnext line"


def test_code_indentation_is_kept():
    code = "def f():\n    return 1\n\n\n\n    # indented comment"
    assert normalize_text(code) == "def f():\n    return 1\n\n    # indented comment"


def test_mojibake_is_repaired():
    broken = "cafÃ©".encode("latin-1").decode("latin-1")  # UTF-8 bytes of "café" read as Latin-1
    assert normalize_text(broken) == "café"
    japanese_broken = "日本語".encode("utf-8").decode("latin-1")
    assert normalize_text(japanese_broken) == "日本語"
    assert normalize_text(broken, CleanConfig(fix_mojibake=False)) == "cafÃ©"


def test_japanese_passes_unchanged():
    for doc in JAPANESE_DOCUMENTS:
        assert normalize_text(doc) == doc


def test_clean_documents_reports_empty_results():
    docs = [
        Document(id="a", text="<html><body><p>本文</p></body></html>", kind="html"),
        Document(id="b", text="<html><body><script>only()</script></body></html>", kind="html"),
        Document(id="c", text="\u200b \u200d", kind="text"),
    ]
    kept, removed = clean_documents(docs, progress=False)
    assert [d.text for d in kept] == ["本文"] and kept[0].kind == "text"
    assert [(d.id, r) for d, r in removed] == [("b", "clean:no_main_text_in_html"), ("c", "clean:empty_after_cleaning")]
