"""Readers for the standard fine-tuning files; a bad record names its file and line.

Supported layouts:

- Extractive QA: SQuAD v1.1 JSON (`{"data": [{"title", "paragraphs": [{"context",
  "qas": [{"id", "question", "answers": [{"text", "answer_start"}]}]}]}]}`), which
  JSQuAD also uses. SQuAD v2 questions marked `is_impossible` with no answers are
  skipped (this extractive head always answers) and counted.
- Sentence classification (sentiment) and sentence pairs (NLI): CSV or TSV with
  a header row, JSONL (one object a line, JGLUE's layout), or a JSON list of
  objects. Columns go by the usual names: the text is `text` / `sentence` /
  `review`; an NLI pair is `premise` / `sentence1` and `hypothesis` / `sentence2`
  (GLUE, MNLI, JNLI); the label is `label` / `gold_label`.

Labels are names from the task's label list (case-insensitive), or integers that
index it (GLUE's SST-2 uses 0 = negative, 1 = positive; the HuggingFace MNLI copy
0 = entailment, 1 = neutral, 2 = contradiction).

Every error is a ValueError (FileNotFoundError for a missing file) of the form
`<file> line <n>: <what is wrong>` (or `<file> data[i].paragraphs[j].qas[k] (id ...)`
for SQuAD JSON), so a person can open the file at that place.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = path.write_text("text,label\\nGreat film!,positive\\n")
    >>> read_classification(path, ("text",), ("negative", "positive"))[0]["label"]
    1
"""

import csv
import json
from pathlib import Path

SENTIMENT_LABELS = ("negative", "positive")
NLI_LABELS = ("entailment", "neutral", "contradiction")
# Accepted column names for each field, first match wins.
FIELD_ALIASES = {
    "text": ("text", "sentence", "review", "sentence1"),
    "premise": ("premise", "sentence1"),
    "hypothesis": ("hypothesis", "sentence2"),
    "label": ("label", "gold_label"),
}
FORMATS = (".csv", ".tsv", ".jsonl", ".json")


def _check_file(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: give a {'/'.join(FORMATS)} file.")
    return path


def _load_json(path):
    """A whole JSON file; ValueError naming the file for bad JSON or JSON nested too deeply to read."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} line {err.lineno}: not valid JSON ({err.msg}).") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to read (thousands of levels); check the file.") from None


def _csv_rows(reader, path):
    """The rows of a csv reader; a field over csv's size limit (131,072 characters) is a ValueError naming the line."""
    try:
        yield from reader
    except csv.Error as err:
        raise ValueError(
            f"{path} line {reader.line_num}: {err}; a text that long is not one example (split it, or fix a "
            "missing closing quote)."
        ) from None


def _records(path):
    """(line number, dict) pairs of a CSV, TSV, JSONL or JSON-list file."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            # GLUE's TSVs hold unescaped quotes: read them literally.
            options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if suffix == ".tsv" else {}
            reader = csv.reader(f, **options)
            header = next(reader, None)
            if not header:
                raise ValueError(f"{path}: empty file; the first line must be a header such as 'text,label'.")
            header = [name.strip().lower() for name in header]
            start = reader.line_num + 1
            for row in _csv_rows(reader, path):
                if not any(cell.strip() for cell in row):
                    start = reader.line_num + 1
                    continue
                if len(row) != len(header):
                    raise ValueError(
                        f"{path} line {start}: {len(row)} fields, but the header has {len(header)} "
                        f"({', '.join(header)}); quote fields that hold the delimiter."
                    )
                yield start, dict(zip(header, row))
                start = reader.line_num + 1
    elif suffix == ".jsonl":
        with open(path, encoding="utf-8-sig") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path} line {number}: not valid JSON ({err.msg}).") from None
                except RecursionError:
                    raise ValueError(f"{path} line {number}: JSON nested too deeply to be a record.") from None
                if not isinstance(record, dict):
                    raise ValueError(f"{path} line {number}: expected a JSON object, got {type(record).__name__}.")
                yield number, {str(k).lower(): v for k, v in record.items()}
    elif suffix == ".json":
        items = _load_json(path)
        if not isinstance(items, list):
            raise ValueError(
                f"{path}: a .json classification file must be a list of objects; use .jsonl for one object a line."
            )
        for number, record in enumerate(items):
            if not isinstance(record, dict):
                raise ValueError(f"{path} item {number}: expected a JSON object, got {type(record).__name__}.")
            yield f"item {number}", {str(k).lower(): v for k, v in record.items()}
    else:
        raise ValueError(f"{path}: unknown file type {suffix!r}; use one of {', '.join(FORMATS)}.")


def _where(path, place):
    return f"{path} {place}" if isinstance(place, str) else f"{path} line {place}"


def _field(record, name, path, place):
    for alias in FIELD_ALIASES.get(name, (name,)):
        if alias in record and record[alias] is not None and str(record[alias]).strip() != "":
            return record[alias]
    names = " or ".join(repr(a) for a in FIELD_ALIASES.get(name, (name,)))
    raise ValueError(f"{_where(path, place)}: missing field {names} (found: {', '.join(sorted(record)) or 'none'}).")


def parse_label(value, labels, where="label"):
    """The index of `value` in `labels`: a name (any case) or an integer index.

    Example:
        >>> parse_label("Neutral", NLI_LABELS), parse_label("2", NLI_LABELS)
        (1, 2)
    """
    text = str(value).strip()
    lowered = [label.lower() for label in labels]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if isinstance(value, bool):
        raise ValueError(f"{where}: bad label {value!r}; expected one of {', '.join(labels)}.")
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and number.is_integer() and 0 <= number < len(labels):
        return int(number)
    raise ValueError(
        f"{where}: bad label {value!r}; expected one of {', '.join(labels)} (or their index 0-{len(labels) - 1})."
    )


def read_classification(path, fields, labels):
    """Read labelled texts: a list of {"texts": (str, ...), "label": int, "line": ...}.

    Args:
        path: a .csv, .tsv, .jsonl or .json (list) file.
        fields: ("text",) for single sentences, ("premise", "hypothesis") for NLI pairs.
        labels: the label names; a record's label must be one of them or its index.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "n.jsonl"
        >>> _ = path.write_text('{"sentence1": "A dog runs.", "sentence2": "An animal moves.", "label": "entailment"}\\n')
        >>> read_classification(path, ("premise", "hypothesis"), NLI_LABELS)[0]["texts"]
        ('A dog runs.', 'An animal moves.')
    """
    path = _check_file(path)
    if len(labels) < 2 or len(set(label.lower() for label in labels)) != len(labels):
        raise ValueError(f"labels must be at least two distinct names, got {list(labels)}.")
    examples = []
    for place, record in _records(path):
        texts = []
        for name in fields:
            value = _field(record, name, path, place)
            if not isinstance(value, str):
                raise ValueError(f"{_where(path, place)}: field {name!r} must be text, got {type(value).__name__}.")
            texts.append(value.strip())
        label = parse_label(_field(record, "label", path, place), labels, _where(path, place))
        examples.append({"texts": tuple(texts), "label": label, "line": place})
    if not examples:
        raise ValueError(f"{path}: no examples found (only a header or blank lines).")
    return examples


def _squad_error(path, place, qid, message):
    ident = f" (id {qid!r})" if qid is not None else ""
    return ValueError(f"{path} {place}{ident}: {message}")


def _answer(context, answer, path, place, qid):
    if not isinstance(answer, dict):
        raise _squad_error(path, place, qid, "each answer must be an object with 'text' and 'answer_start'.")
    for key in ("text", "answer_start"):
        if key not in answer:
            raise _squad_error(path, place, qid, f"answer is missing {key!r}.")
    text, start = answer["text"], answer["answer_start"]
    if not isinstance(text, str) or not text.strip():
        raise _squad_error(path, place, qid, "answer 'text' must be a non-empty string.")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise _squad_error(path, place, qid, f"'answer_start' must be a character offset >= 0, got {start!r}.")
    if context[start : start + len(text)] != text:
        # A few published files are off by a character or two: take the nearest occurrence, as the
        # usual SQuAD preprocessing does, and fail only when the text is not in the context at all.
        found = [i for i in range(len(context)) if context.startswith(text, i)]
        if not found:
            raise _squad_error(path, place, qid, f"answer text {text!r} does not occur in the context.")
        start = min(found, key=lambda i: abs(i - start))
    return {"text": text, "answer_start": start}


def read_squad(path):
    """Read a SQuAD v1.1-layout JSON file into a list of questions.

    Each question is {"id", "question", "context", "answers": [{"text", "answer_start"}],
    "title"}; answer offsets are checked against the context.

    Example:
        >>> import json, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "q.json"
        >>> _ = path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "Mika lives in Osaka.",
        ...     "qas": [{"id": "1", "question": "Where?", "answers": [{"text": "Osaka", "answer_start": 14}]}]}]}]}))
        >>> read_squad(path)[0]["answers"]
        [{'text': 'Osaka', 'answer_start': 14}]
    """
    path = _check_file(path)
    root = _load_json(path)
    if not isinstance(root, dict) or not isinstance(root.get("data"), list):
        raise ValueError(f"{path}: not SQuAD JSON: expected an object with a 'data' list of articles.")
    questions, seen = [], set()
    skipped = 0
    for a, article in enumerate(root["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise ValueError(f"{path} data[{a}]: missing 'paragraphs' list.")
        for p, paragraph in enumerate(paragraphs):
            place = f"data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict):
                raise ValueError(f"{path} {place}: a paragraph must be an object with 'context' and 'qas'.")
            context = paragraph.get("context")
            if not isinstance(context, str) or not context.strip():
                raise ValueError(f"{path} {place}: missing 'context' text.")
            qas = paragraph.get("qas")
            if not isinstance(qas, list):
                raise ValueError(f"{path} {place}: missing 'qas' list.")
            for q, qa in enumerate(qas):
                qplace = f"{place}.qas[{q}]"
                if not isinstance(qa, dict):
                    raise ValueError(f"{path} {qplace}: a question must be an object.")
                qid = qa.get("id")
                question = qa.get("question")
                if not isinstance(question, str) or not question.strip():
                    raise _squad_error(path, qplace, qid, "missing 'question' text.")
                answers = qa.get("answers")
                if not answers and qa.get("is_impossible"):
                    skipped += 1  # SQuAD v2 unanswerable: nothing for an extractive head to learn
                    continue
                if not isinstance(answers, list) or not answers:
                    raise _squad_error(path, qplace, qid, "missing 'answers' (a list of {text, answer_start}).")
                qid = str(qid) if qid is not None else f"{a}-{p}-{q}"
                if qid in seen:
                    raise _squad_error(path, qplace, qid, "duplicate question id.")
                seen.add(qid)
                questions.append(
                    {
                        "id": qid,
                        "title": str(article.get("title", "")),
                        "question": question.strip(),
                        "context": context,
                        "answers": [_answer(context, ans, path, qplace, qid) for ans in answers],
                    }
                )
    if not questions:
        raise ValueError(f"{path}: no answerable questions found.")
    if skipped:
        print(f"{path}: skipped {skipped} unanswerable (SQuAD v2) questions")
    return questions
