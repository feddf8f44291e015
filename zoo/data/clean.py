"""Clean stage: raw documents (HTML or text) -> normalized plain text.

What it does, in order, and why:

1. HTML -> main text with trafilatura (drops menus, footers, scripts); when
   trafilatura finds no main content (tiny pages) selectolax's body text is used.
   Before that, structure a language model should not see as a grid is rewritten
   (`restructure_html`): tables are dropped (default) or turned into one sentence
   per row ("header: cell, header: cell."), code blocks (<pre>) are kept as
   ``` fenced blocks (default) or dropped, definition lists become
   "term: definition" lines, and link-only lists (menus) are dropped. What was
   dropped or rewritten is counted per document (`structure_counts`).
2. Mojibake repair with ftfy (UTF-8 read as Latin-1 and the like), done before
   NFKC because ftfy recognises the broken byte patterns, not their normal form.
   Only text that shows a sign of such mojibake goes through ftfy (it is slow).
3. Unicode NFKC: full-width ASCII becomes ASCII, half-width katakana becomes
   full-width, so one character has one spelling; Japanese text stays Japanese.
4. Control and zero-width characters removed (they are invisible but split tokens).
5. Whitespace normalized: CRLF -> LF, runs of spaces inside a line collapsed,
   trailing spaces dropped, at most one blank line in a row. Leading indentation
   is kept, because code blocks (the built-in corpus is full of them) need it.
   A space between two Japanese/Chinese characters is removed: it is a line
   break of the HTML or roff source, which browsers do not show there either
   (CSS Text 3's segment-break rule for East Asian wide characters); a space
   next to a Latin word ("各 FILE の") stays.

Example:
    >>> normalize_text("ＡＢＣ　ｶﾀｶﾅ\\u200bです。\\r\\n\\r\\n\\r\\nnext")
    'ABC カタカナです。\\n\\nnext'
"""

import dataclasses
import functools
import re
import unicodedata

from zoo.data.document import Document  # noqa: F401  (the examples below build documents)

# Zero-width and invisible formatting characters that survive NFKC.
_ZERO_WIDTH = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")
# C0/C1 control characters except tab and newline (carriage returns are handled first).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INNER_SPACES_RE = re.compile(r"(?<=\S)[ \t\u00a0\u2000-\u200a\u3000]+")
_TRAILING_RE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_CJK = "\u3001-\u303f\u3041-\u30ff\u3400-\u9fff\uf900-\ufaff"
_CJK_BREAK_RE = re.compile(f"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
# UTF-8 misread as Latin-1 or Windows-1252 always shows a lead byte 0xC2-0xF4 as one of these
# characters. Text without any cannot hold that mojibake, so ftfy (the slowest step) is skipped.
_MOJIBAKE_HINT_RE = re.compile("[\u00c2-\u00f4]")


def _fix_mojibake(text):
    import ftfy

    # Encoding repair only: no NFC (NFKC follows), no quote uncurling or HTML unescaping,
    # which would change correct text.
    config = ftfy.TextFixerConfig(
        unescape_html=False, uncurl_quotes=False, fix_line_breaks=False, normalization=None, explain=False
    )
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
    join_cjk_breaks: bool = True  # drop a source line break's space between two Japanese characters
    html_favor_recall: bool = True  # keep more text from HTML pages rather than less
    restructure: bool = True  # False: hand the page to trafilatura as it is (tables, code and lists its way)
    tables: str = "drop"  # "drop", "sentences" (one sentence per row) or "keep" (trafilatura's "| a | b |" rows)
    code: str = "keep"  # "keep" (as ``` fenced blocks) or "drop"
    # Deeper HTML is removed unparsed: a page nested 200,000 divs deep took minutes of parser CPU.
    max_html_depth: int = 512

    def __post_init__(self):
        if isinstance(self.max_html_depth, bool) or not isinstance(self.max_html_depth, int) or self.max_html_depth < 1:
            raise ValueError(f"max_html_depth must be an integer >= 1, got {self.max_html_depth!r}")
        if self.tables not in ("drop", "sentences", "keep"):
            raise ValueError(f"tables must be 'drop', 'sentences' or 'keep', got {self.tables!r}")
        if self.code not in ("keep", "drop"):
            raise ValueError(f"code must be 'keep' or 'drop', got {self.code!r}")


STRUCTURE_KEYS = (
    "tables_dropped",
    "tables_as_sentences",
    "tables_kept",
    "code_blocks_kept",
    "code_blocks_dropped",
    "definition_lists",
    "menus_dropped",
)
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>")
# Elements that never hold others, and those whose end tag may be left out (a new one closes the last).
_NO_NESTING = frozenset(
    "area base br col embed hr img input link meta param source track wbr "
    "p li dt dd tr td th option optgroup thead tbody tfoot colgroup rb rt rp".split()
)
_PLACEHOLDER = "ZOOCODEBLOCK{}X"
_PLACEHOLDER_RE = re.compile(r"^.*ZOOCODEBLOCK(\d+)X.*$", re.MULTILINE)


def _cell_text(cell):
    return " ".join(cell.text_content().split())


def _table_sentences(table):
    rows = [[_cell_text(c) for c in row.xpath("./th|./td")] for row in table.xpath(".//tr")]
    rows = [row for row in rows if any(row)]
    header = None
    if len(rows) > 1 and table.xpath(".//tr[1]/th") and not table.xpath(".//tr[1]/td"):
        header, rows = rows[0], rows[1:]
    sentences = []
    for row in rows:
        cells = [c for c in row if c]
        if header and len(header) == len(row):
            cells = [f"{h}: {c}" if h else c for h, c in zip(header, row) if c]
        if cells:
            end = "" if cells[-1].endswith(("。", ".", "!", "?", "！", "？")) else "。" if _is_cjk(cells[-1]) else "."
            sentences.append(", ".join(cells) + end)
    return sentences


def _is_cjk(text):
    return any("\u3040" <= ch <= "\u9fff" for ch in text)


def _words(node):
    return " ".join(node.text_content().split())


def _links_only(menu):
    # A menu: three or more items, each nothing but its links' text.
    items = menu.xpath("./li")
    return len(items) >= 3 and all(_words(li) == " ".join(_words(a) for a in li.xpath(".//a")) for li in items)


def _replace(node, new_nodes):
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    index = parent.index(node)
    parent.remove(node)
    for offset, new in enumerate(new_nodes):
        parent.insert(index + offset, new)
    if tail and tail.strip():
        holder = new_nodes[-1] if new_nodes else None
        if holder is not None:
            holder.tail = tail
        elif index > 0:
            parent[index - 1].tail = (parent[index - 1].tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def restructure_html(html, config=None):
    """Rewrite tables, code blocks, definition lists and menus of a page; return (html, counts, code blocks).

    Code blocks come back as placeholders in the HTML plus their texts, so that
    the text extractor cannot reflow them; `html_to_text` puts them back fenced.

    Example:
        >>> page = "<table><tr><th>名前</th><th>値</th></tr><tr><td>幅</td><td>10</td></tr></table>"
        >>> html, counts, code = restructure_html(page, CleanConfig(tables="sentences"))
        >>> "名前: 幅, 値: 10。" in html, counts["tables_as_sentences"]
        (True, 1)
    """
    import lxml.html
    from lxml import etree

    config = config or CleanConfig()
    counts = dict.fromkeys(STRUCTURE_KEYS, 0)
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return html, counts, []
    make = lxml.html.Element
    code_blocks = []
    for pre in root.xpath("//pre"):
        if config.code == "drop":
            counts["code_blocks_dropped"] += 1
            _replace(pre, [])
            continue
        counts["code_blocks_kept"] += 1
        para = make("p")
        para.text = _PLACEHOLDER.format(len(code_blocks))
        code_blocks.append(pre.text_content().strip("\n"))
        _replace(pre, [para])
    # Innermost tables first, so a layout table around a data table is handled after it.
    for table in sorted(root.xpath("//table"), key=lambda t: -len(t.xpath("ancestor::table"))):
        if config.tables == "keep":
            counts["tables_kept"] += 1
            continue
        if config.tables == "drop":
            counts["tables_dropped"] += 1
            _replace(table, [])
            continue
        counts["tables_as_sentences"] += 1
        paragraphs = []
        for sentence in _table_sentences(table):
            para = make("p")
            para.text = sentence
            paragraphs.append(para)
        _replace(table, paragraphs)
    for dl in root.xpath("//dl"):
        counts["definition_lists"] += 1
        paragraphs, term = [], None
        for child in dl:
            if child.tag == "dt":
                term = " ".join(child.text_content().split())
            elif child.tag == "dd":
                para = make("p")
                body = " ".join(child.text_content().split())
                para.text = f"{term}: {body}" if term else body
                paragraphs.append(para)
                term = None
        _replace(dl, paragraphs)
    for menu in root.xpath("//nav|//ul|//ol"):
        if menu.getparent() is not None and (menu.tag == "nav" or _links_only(menu)):
            counts["menus_dropped"] += 1
            _replace(menu, [])
    return lxml.html.tostring(root, encoding="unicode"), counts, code_blocks


def _fence(text, code_blocks):
    def block(match):
        index = int(match.group(1))
        return f"```\n{code_blocks[index]}\n```" if index < len(code_blocks) else ""

    return _PLACEHOLDER_RE.sub(block, text)


def html_depth(html, stop_at=None):
    """The deepest element nesting of an HTML page, found with one linear scan of its tags (no parser).

    `stop_at`: return as soon as the depth exceeds it (a cheap bound for hostile pages).

    Example:
        >>> html_depth("<html><body><div><p>a<p>b</div><br></body></html>")
        3
    """
    depth = deepest = 0
    for match in _TAG_RE.finditer(html):
        closing, name, self_closing = match.groups()
        name = name.lower()
        if name in _NO_NESTING or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if stop_at is not None and deepest > stop_at:
                break
    return deepest


def html_to_text(html, favor_recall=True, config=None, counts=None):
    """Return the main text of an HTML page ('' when it has none); `counts` (a dict) gets the structure counts.

    Example:
        >>> html_to_text("<html><body><script>var x = 1;</script><p>本文です。</p></body></html>")
        '本文です。'
    """
    import trafilatura

    config = config or CleanConfig(html_favor_recall=favor_recall)
    if config.restructure:
        html, found, code_blocks = restructure_html(html, config)
    else:
        found, code_blocks = {}, []
    if counts is not None:
        for key, value in found.items():
            counts[key] = counts.get(key, 0) + value
    text = trafilatura.extract(
        html,
        include_comments=False,
        include_tables=config.tables == "keep" or not config.restructure,
        favor_recall=favor_recall,
        deduplicate=False,
    )
    if text and text.strip():
        return _fence(text, code_blocks)
    # Pages with very little text (a short note, a stub) fall below trafilatura's
    # thresholds; their visible body text is still worth keeping.
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, nav, header, footer, template"):
        node.decompose()
    body = tree.body or tree.root
    return _fence(body.text(separator="\n", strip=True), code_blocks) if body is not None else ""


def normalize_text(text, config=None):
    """Return `text` repaired and normalized as the module docstring describes.

    Example:
        >>> normalize_text("The Ã©cole   is\\tnear  ")
        'The école is near'
        >>> normalize_text("保持しており、 この処理方法 により FILE を")
        '保持しており、この処理方法により FILE を'
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
        if config.join_cjk_breaks:
            text = _CJK_BREAK_RE.sub("", text)
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
    return _clean_with_counts(doc, config)[0]


def _clean_with_counts(doc, config=None):
    config = config or CleanConfig()
    text, counts = doc.text, {}
    if doc.kind == "html" and html_depth(text, stop_at=config.max_html_depth) > config.max_html_depth:
        # Parsing it would cost time without bound; the document is removed with its own reason.
        return dataclasses.replace(doc, text="", kind="text"), {"html_too_deep": 1}
    if doc.kind == "html":
        text = html_to_text(text, favor_recall=config.html_favor_recall, config=config, counts=counts)
    return dataclasses.replace(doc, text=normalize_text(text, config), kind="text"), counts


def clean_documents(documents, config=None, progress=True, workers=1, structure=None):
    """Clean every document; return (cleaned, removed) where removed lists (doc, reason) for empty results.

    `workers` > 1 spreads the documents over that many processes (same result, in order).
    `structure` (a dict), when given, gets the summed counts of tables, code blocks and menus
    that `restructure_html` dropped or rewrote.

    Example:
        >>> kept, removed = clean_documents([Document(id="1", text="a"), Document(id="2", text="\\u200b")], progress=False)
        >>> [d.id for d in kept], [reason for _, reason in removed]
        (['1'], ['clean:empty_after_cleaning'])
    """
    from zoo.data.parallel import parallel_map

    clean = functools.partial(_clean_with_counts, config=config or CleanConfig())
    results = parallel_map(clean, documents, workers=workers, desc="clean", progress=progress)
    cleaned, removed = [], []
    for doc, (result, counts) in zip(documents, results):
        if structure is not None:
            for key, value in counts.items():
                structure[key] = structure.get(key, 0) + value
        if result.text.strip():
            cleaned.append(result)
        elif counts.get("html_too_deep"):
            removed.append((doc, "clean:html_too_deep"))  # nested deeper than CleanConfig.max_html_depth
        else:
            reason = "clean:no_main_text_in_html" if doc.kind == "html" else "clean:empty_after_cleaning"
            removed.append((doc, reason))
    return cleaned, removed
