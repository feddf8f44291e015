"""Instruction and preference data in the common JSONL formats, each record checked with its file and line.

Instruction records (one JSON object per line), either

- Alpaca style: {"instruction": ..., "input": ... (optional), "output": ...}, or
- chat style: {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}
  with at least one assistant turn.

Both become a conversation: a list of {"role", "content"} messages. Preference records are
{"prompt": str or messages, "chosen": str, "rejected": str}.

Example:
    >>> alpaca_to_messages({"instruction": "Add", "input": "2 and 3", "output": "5"})
    [{'role': 'user', 'content': 'Add\\n\\n2 and 3'}, {'role': 'assistant', 'content': '5'}]
"""

import json
import os

from zoo.errors import UsageError

ROLES = ("system", "user", "assistant")


def _jsonl_records(path):
    """(line number, dict) of every non-blank line of a JSONL file; a bad line raises UsageError naming it."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file; give a JSONL file with one record per line.")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise UsageError(
                    f"{path}:{number}: not valid JSON ({err.msg}); write one JSON object per line."
                ) from None
            if not isinstance(record, dict):
                raise UsageError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}.")
            yield number, record


def alpaca_to_messages(record):
    """An Alpaca record as a user turn (instruction, then the input if any) and an assistant turn."""
    prompt = record["instruction"].strip()
    extra = (record.get("input") or "").strip()
    if extra:
        prompt = f"{prompt}\n\n{extra}"
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": record["output"]}]


def check_messages(messages, where, need_assistant=True):
    """Raise UsageError (naming `where`) unless `messages` is a list of {"role", "content"} with known roles."""
    if not isinstance(messages, list) or not messages:
        raise UsageError(f'{where}: "messages" must be a non-empty list of {{"role", "content"}} objects.')
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise UsageError(f'{where}: message {i} needs a string "content".')
        if message.get("role") not in ROLES:
            raise UsageError(f"{where}: message {i} has role {message.get('role')!r}; use one of {', '.join(ROLES)}.")
    if need_assistant and not any(m["role"] == "assistant" for m in messages):
        raise UsageError(f"{where}: no assistant message, so there is nothing to learn; add one.")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def instruction_record(record, where):
    """One record (Alpaca or chat style) as a checked list of messages."""
    if "messages" in record:
        return check_messages(record["messages"], where)
    if isinstance(record.get("instruction"), str) and isinstance(record.get("output"), str):
        if record.get("input") is not None and not isinstance(record["input"], str):
            raise UsageError(f'{where}: "input" must be a string.')
        return alpaca_to_messages(record)
    raise UsageError(
        f'{where}: a record needs "messages" (chat style) or "instruction" and "output" '
        f"(Alpaca style); got keys {sorted(record)}."
    )


def read_instructions(path):
    """Every conversation in an instruction JSONL file (Alpaca or chat style, mixed is fine).

    Example:
        >>> read_instructions("no/such.jsonl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: no/such.jsonl: no such file; ...
    """
    conversations = [instruction_record(record, f"{path}:{number}") for number, record in _jsonl_records(path)]
    if not conversations:
        raise UsageError(f"{path}: no records; write one JSON object per line.")
    return conversations


def read_preferences(path):
    """Every preference pair in a JSONL file as {"prompt": messages, "chosen": str, "rejected": str}."""
    pairs = []
    for number, record in _jsonl_records(path):
        where = f"{path}:{number}"
        prompt = record.get("prompt")
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        elif isinstance(prompt, list):
            prompt = check_messages(prompt, where, need_assistant=False)
        else:
            raise UsageError(f'{where}: "prompt" must be a string or a list of messages.')
        for key in ("chosen", "rejected"):
            if not isinstance(record.get(key), str):
                raise UsageError(f'{where}: "{key}" must be a string (the assistant\'s reply).')
        if record["chosen"] == record["rejected"]:
            raise UsageError(f'{where}: "chosen" and "rejected" are the same text; a pair must differ.')
        pairs.append({"prompt": prompt, "chosen": record["chosen"], "rejected": record["rejected"]})
    if not pairs:
        raise UsageError(f"{path}: no records; write one JSON object per line.")
    return pairs
