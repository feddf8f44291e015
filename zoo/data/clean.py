"""Clean stage: raw documents (HTML or text) -> normalized plain text.

What it does, in order, and why:

1. HTML -> main text with trafilatura (drops menus, footers, scripts); when
   trafilatura finds no main content (tiny pages) selectolax's body text is used.
2. Mojibake repair with ftfy (UTF-8 read as Latin-1 and the like), done before
   NFKC because ftfy recognises the broken byte patterns, not their normal form.
   Only text that shows a sign of such mojibake goes through ftfy (it is slow).
3. Unicode NFKC: full-width ASCII becomes ASCII, half-width katakana becomes
   full-width, so one character has one spelling; Japanese text stays Japanese.
4. Control and zero-width characters removed (they are invisible but split tokens).
5. Whitespace normalized: CRLF -> LF, runs of spaces inside a line collapsed,
   trailing spaces dropped, at most one blank line in a row. Leading indentation
   is kept, because code blocks (the built-in corpus is full of them) need it.

Example:
    >>> normalize_text("ＡＢＣ　ｶﾀｶﾅ\\u200bです。\\r\\n\\r\\n\\r\\nnext")
    'ABC カタカナです。\\n\\nnext'
"""

import dataclasses
import functools
import re
import unicodedata

from zoo.data.document import Document  # the examples below build documents

# Zero-width and invisible formatting characters that survive NFKC.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")
# C0/C1 control characters except tab and newline (carriage returns are handled first).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INNER_SPACES_RE = re.compile(r"(?<=\S)[ \t\u00a0\u2000-\u200a\u3000]+")
_TRAILING_RE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
# UTF-8 misread as Latin-1 or Windows-1252 always shows a lead byte 0xC2-0xF4 as one of these
# characters. Text without any cannot hold that mojibake, so ftfy (the slowest step) is skipped.
_MOJIBAKE_HINT_RE = re.compile("[\u00c2-\u00f4]")


def _fix_mojibake(text):
    import ftfy

    # Encoding repair only: no NFC (NFKC follows), no quote uncurling or HTML unescaping,
    # which would change correct text.
    config = ftfy.TextFixerConfig(unescape_html=False, uncurl_quotes=False, fix_line_breaks=False,
                                  normalization=None, explain=False)
    return ftfy.fix_text(text, config)


@dataclasses.dataclass
class CleanConfig:
    """Switches of the clean stage; every step can be turned off.

    Example:
        >>> CleanConfig(fix_mojibake=False).nfkc
        True
    """

    fix_mojibake: bool = True
    nfkc: bool = True
    remove_control: bool = True
    normalize_whitespace: bool = True
    html_favor_recall: bool = True  # keep more text from HTML pages rather than less


def html_to_text(html, favor_recall=True):
    """Return the main text of an HTML page ('' when it has none).

    Example:
        >>> html_to_text("<html><body><script>var x = 1;</script><p>本文です。</p></body></html>")
        '本文です。'
    """
    import trafilatura

    text = trafilatura.extract(
        html,
        include_comments=False,
        include_tables=True,
        favor_recall=favor_recall,
        deduplicate=False,
    )
    if text and text.strip():
        return text
    # Pages with very little text (a short note, a stub) fall below trafilatura's
    # thresholds; their visible body text is still worth keeping.
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, nav, header, footer, template"):
        node.decompose()
    body = tree.body or tree.root
    return body.text(separator="\n", strip=True) if body is not None else ""


def normalize_text(text, config=None):
    """Return `text` repaired and normalized as the module docstring describes.

    Example:
        >>> normalize_text("The Ã©cole   is\\tnear  ")
        'The école is near'
    """
    config = config or CleanConfig()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if config.fix_mojibake and _MOJIBAKE_HINT_RE.search(text):
        text = _fix_mojibake(text)
    if config.nfkc:
        text = unicodedata.normalize("NFKC", text)
    if config.remove_control:
        text = _ZERO_WIDTH_RE.sub("", text)
        text = _CONTROL_RE.sub("", text)
    if config.normalize_whitespace:
        text = _INNER_SPACES_RE.sub(" ", text)
        text = _TRAILING_RE.sub("", text)
        text = _BLANK_LINES_RE.sub("\n\n", text)
        text = text.strip("\n")
    return text


def clean_document(doc, config=None):
    """Return a cleaned copy of one document (HTML turned into text first).

    Example:
        >>> clean_document(Document(id="1", text="<p>ｈｅｌｌｏ</p>", kind="html")).text
        'hello'
    """
    config = config or CleanConfig()
    text = doc.text
    if doc.kind == "html":
        text = html_to_text(text, favor_recall=config.html_favor_recall)
    return dataclasses.replace(doc, text=normalize_text(text, config), kind="text")


def clean_documents(documents, config=None, progress=True, workers=1):
    """Clean every document; return (cleaned, removed) where removed lists (doc, reason) for empty results.

    `workers` > 1 spreads the documents over that many processes (same result, in order).

    Example:
        >>> kept, removed = clean_documents([Document(id="1", text="a"), Document(id="2", text="\\u200b")], progress=False)
        >>> [d.id for d in kept], [reason for _, reason in removed]
        (['1'], ['clean:empty_after_cleaning'])
    """
    from zoo.data.parallel import parallel_map

    clean = functools.partial(clean_document, config=config or CleanConfig())
    results = parallel_map(clean, documents, workers=workers, desc="clean", progress=progress)
    cleaned, removed = [], []
    for doc, result in zip(documents, results):
        if result.text.strip():
            cleaned.append(result)
        else:
            reason = "clean:no_main_text_in_html" if doc.kind == "html" else "clean:empty_after_cleaning"
            removed.append((doc, reason))
    return cleaned, removed
