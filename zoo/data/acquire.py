"""Acquire stage, local side: files and folders -> documents.

Reads .txt/.md/.rst (one document per file), .html/.htm (raw HTML, turned
into text by the clean stage) and .jsonl/.ndjson (one document per line, the
text in a configurable field), each optionally gzip-compressed (`.gz`).
Files that cannot be read or are not UTF-8 are skipped and listed with the
reason, never fatal: one bad file must not sink a crawl of thousands.

Sizes are bounded before anything is decoded: a file whose (decompressed) bytes pass
`max_file_bytes` is skipped as `acquire:file_too_large` once that many bytes were read
(a 1.6 MB .gz can expand to 500 MB), and a document over `max_document_bytes` as
`acquire:document_too_large`; both land in the data report with the other skips.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("日本語のテキスト", encoding="utf-8")
    >>> _ = (folder / "b.txt").write_bytes("シフトJIS".encode("shift_jis"))
    >>> result = acquire_paths([folder], progress=False)
    >>> [d.text for d in result.documents], [s["reason"] for s in result.skipped]
    (['日本語のテキスト'], ['acquire:not_utf8'])
"""

import dataclasses
import gzip
import json
import os
from pathlib import Path

from zoo.data.document import Document, document_id

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES
MAX_FILE_BYTES = 512 * 2**20  # one input file, after decompression (a JSONL file holds many documents)
MAX_DOCUMENT_BYTES = 32 * 2**20  # one document: a whole book is ~1-5 MB
_READ_CHUNK = 2**20


class _FileTooLarge(Exception):
    """An input file grew past the byte limit while it was read."""


@dataclasses.dataclass
class AcquireResult:
    """Documents read, and {"source", "reason", "detail"} for every input that gave none.

    Example:
        >>> AcquireResult().documents
        []
    """

    documents: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)

    def extend(self, other):
        """Append another result's documents and skips to this one.

        Example:
            >>> r = AcquireResult(); r.extend(AcquireResult(skipped=[{"source": "x", "reason": "r", "detail": ""}]))
            >>> len(r.skipped)
            1
        """
        self.documents.extend(other.documents)
        self.skipped.extend(other.skipped)


def _kind_of(path):
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffixes, kind in ((TEXT_SUFFIXES, "text"), (HTML_SUFFIXES, "html"), (JSONL_SUFFIXES, "jsonl")):
        if name.endswith(suffixes):
            return kind
    return None


def _skip(source, reason, detail):
    return {"source": str(source), "reason": reason, "detail": detail}


def _read_text(path, max_bytes=MAX_FILE_BYTES):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    chunks, size = [], 0
    with opener(path, "rb") as handle:
        # In chunks, so a decompression bomb stops at the limit instead of filling memory.
        while chunk := handle.read(_READ_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _FileTooLarge()
            chunks.append(chunk)
    # utf-8-sig drops a byte-order mark that some Windows editors add.
    return b"".join(chunks).decode("utf-8-sig")


def read_file(path, text_field="text", max_file_bytes=MAX_FILE_BYTES, max_document_bytes=MAX_DOCUMENT_BYTES):
    """Read one supported file; return an AcquireResult (documents, or a skip with the reason).

    Example:
        >>> import tempfile, pathlib, gzip
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl.gz"
        >>> _ = p.write_bytes(gzip.compress('{"body": "本文"}\\n{"other": 1}\\n'.encode()))
        >>> r = read_file(p, text_field="body")
        >>> [d.text for d in r.documents], r.skipped[0]["reason"]
        (['本文'], 'acquire:jsonl_missing_field')
    """
    path = Path(path)
    kind = _kind_of(path)
    if kind is None:
        return AcquireResult(
            skipped=[
                _skip(path, "acquire:unsupported_type", f"supported: {', '.join(SUPPORTED_SUFFIXES)} (optionally .gz)")
            ]
        )
    try:
        text = _read_text(path, max_file_bytes)
    except _FileTooLarge:
        detail = f"more than {max_file_bytes:,} bytes" + (" once decompressed" if path.suffix.lower() == ".gz" else "")
        return AcquireResult(skipped=[_skip(path, "acquire:file_too_large", detail + "; raise --max-file-size")])
    except UnicodeDecodeError as err:
        return AcquireResult(
            skipped=[
                _skip(
                    path,
                    "acquire:not_utf8",
                    f"byte {err.object[err.start]:#04x} at offset {err.start} is not UTF-8; "
                    "convert the file, e.g. `iconv -f SHIFT_JIS -t UTF-8`",
                )
            ]
        )
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        return AcquireResult(skipped=[_skip(path, "acquire:unreadable", f"{type(err).__name__}: {err}")])
    if kind != "jsonl":
        if not text.strip():
            return AcquireResult(skipped=[_skip(path, "acquire:empty_file", "the file has no text")])
        if len(text.encode("utf-8")) > max_document_bytes:
            detail = f"one document of more than {max_document_bytes:,} bytes; raise --max-document-size"
            return AcquireResult(skipped=[_skip(path, "acquire:document_too_large", detail)])
        return AcquireResult(
            documents=[Document(id=document_id(str(path), text), text=text, source=str(path), kind=kind)]
        )
    return _read_jsonl(path, text, text_field, max_document_bytes)


def _read_jsonl(path, text, text_field, max_document_bytes=MAX_DOCUMENT_BYTES):
    result = AcquireResult()
    bad_lines, missing, too_large = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(line) > max_document_bytes:  # characters <= bytes: no need to encode to know it is small
            if len(line.encode("utf-8")) > max_document_bytes:
                too_large.append(number)
                continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested thousands of levels deep
            bad_lines.append(number)
            continue
        value = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(value, str) or not value.strip():
            missing.append(number)
            continue
        source = f"{path}:{number}"
        doc_id = str(record["id"]) if isinstance(record, dict) and "id" in record else document_id(source, value)
        result.documents.append(Document(id=doc_id, text=value, source=source, kind="text"))
    # One entry per file and problem (with line numbers), not one per line: a bad export can have millions.
    if bad_lines:
        result.skipped.append(
            _skip(path, "acquire:jsonl_bad_line", f"{len(bad_lines)} lines are not JSON (first: {bad_lines[:5]})")
        )
    if too_large:
        result.skipped.append(
            _skip(
                path,
                "acquire:document_too_large",
                f"{len(too_large)} lines hold more than {max_document_bytes:,} bytes (first: {too_large[:5]}); "
                "raise --max-document-size",
            )
        )
    if missing:
        result.skipped.append(
            _skip(
                path,
                "acquire:jsonl_missing_field",
                f"{len(missing)} lines have no string field {text_field!r} (first: {missing[:5]}); "
                "pass --text-field to name the field that holds the text",
            )
        )
    return result


def list_files(paths):
    """Expand files and folders (recursively, hidden entries skipped) into a sorted list of files.

    Example:
        >>> list_files(["/no/such/path"])
        Traceback (most recent call last):
        ...
        FileNotFoundError: input path /no/such/path does not exist; give a file or folder of .txt/.md/.html/.jsonl(.gz) files
    """
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(Path(root) / name for name in sorted(names) if not name.startswith("."))
        else:
            raise FileNotFoundError(
                f"input path {path} does not exist; give a file or folder of .txt/.md/.html/.jsonl(.gz) files"
            )
    return files


def acquire_paths(
    paths, text_field="text", progress=True, max_file_bytes=MAX_FILE_BYTES, max_document_bytes=MAX_DOCUMENT_BYTES
):
    """Read every supported file under `paths` into documents; unreadable ones are skipped and listed.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "page.html"
        >>> _ = p.write_text("<html><body><p>hello</p></body></html>")
        >>> acquire_paths([p], progress=False).documents[0].kind
        'html'
    """
    from tqdm.auto import tqdm

    result = AcquireResult()
    for path in tqdm(list_files(paths), desc="acquire", unit="file", disable=not progress):
        result.extend(read_file(path, text_field, max_file_bytes, max_document_bytes))
    return result
