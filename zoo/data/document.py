"""The unit the data pipeline passes between stages: one document with its origin.

A `Document` is a piece of text (or raw HTML, before cleaning) plus where it
came from. Stages take a list of documents and return a list of documents, so
each stage can be run, tested and reported on its own.

Example:
    >>> doc = Document(id="a", text="こんにちは、世界。", source="hello.txt")
    >>> Document.from_dict(doc.to_dict()) == doc
    True
"""

import dataclasses
import hashlib


@dataclasses.dataclass
class Document:
    """One document: `text` (plain text, or HTML when `kind == "html"`), its `source` and a stable `id`.

    Example:
        >>> Document(id="x", text="<p>hi</p>", source="a.html", kind="html").kind
        'html'
    """

    id: str
    text: str
    source: str = ""
    kind: str = "text"  # "text" or "html": html is turned into text by the clean stage

    def to_dict(self):
        """Return a JSON-ready dict (the shard line format).

        Example:
            >>> Document(id="1", text="t").to_dict()["text"]
            't'
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record):
        """Build a document from a shard line's dict; unknown keys are ignored.

        Example:
            >>> Document.from_dict({"id": "1", "text": "t", "extra": 0}).text
            't'
        """
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f"a document record needs a string 'text' field, got {record!r:.80}")
        names = {field.name for field in dataclasses.fields(cls)}
        values = {key: record[key] for key in names if key in record}
        values.setdefault("id", document_id(record.get("source", ""), record["text"]))
        return cls(**values)


def document_id(source, text):
    """Return a short stable id for a document from where it came from and what it says.

    Example:
        >>> document_id("a.txt", "hello") == document_id("a.txt", "hello")
        True
    """
    digest = hashlib.sha1(f"{source}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:16]


def total_bytes(documents):
    """Return the UTF-8 size of all documents' text, the unit the reports count in.

    Example:
        >>> total_bytes([Document(id="1", text="日本")])
        6
    """
    return sum(len(doc.text.encode("utf-8", "surrogatepass")) for doc in documents)


def with_unique_ids(documents):
    """Return the documents with unique ids: a repeated id gets "-2", "-3", ... (the first keeps its own).

    Two inputs can share an id when they have the same text and source (two URLs that
    redirect to one page, say); reports and dedup clusters need each id to name one document.

    Example:
        >>> [d.id for d in with_unique_ids([Document(id="a", text="x"), Document(id="a", text="x")])]
        ['a', 'a-2']
    """
    seen = {}
    result = []
    for doc in documents:
        count = seen.get(doc.id, 0) + 1
        seen[doc.id] = count
        result.append(doc if count == 1 else dataclasses.replace(doc, id=f"{doc.id}-{count}"))
    return result
