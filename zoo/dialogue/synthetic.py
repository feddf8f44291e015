"""The small instruction and preference sets shipped with zoo: synthetic, made from the built-in corpus.

No instruction data ships with Python and nothing is downloaded, so zoo writes its
own: short sentences are taken from the built-in corpus (the Python language
reference) and each gets one of five mechanical instructions whose correct answer
is computed, not written by a person:

    repeat the sentence / its first word / its last word / how many words / upper case

Every record carries "source": "synthetic (zoo, from pydoc_data.topics)". The
preference pairs use the same tasks: "chosen" is the computed answer, "rejected"
a plausible wrong one (another word, a count off by one, the sentence unchanged
instead of upper-cased), so which reply is right is known.
`datasets/instructions.jsonl` and `datasets/preferences.jsonl` were written by
`write_datasets()`.

Example:
    >>> answer("count", "Lists are mutable.")
    '3'
"""

import json
import os
import random
import re

from zoo.data.atomic_files import write_text_atomic

SOURCE = "synthetic (zoo, from pydoc_data.topics)"
DATASETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datasets")
INSTRUCTIONS_FILE = os.path.join(DATASETS, "instructions.jsonl")
PREFERENCES_FILE = os.path.join(DATASETS, "preferences.jsonl")
TASKS = {
    "repeat": "Repeat this sentence.",
    "first": "What is the first word of this sentence?",
    "last": "What is the last word of this sentence?",
    "count": "How many words are in this sentence?",
    "upper": "Write this sentence in upper case.",
}


def _words(sentence):
    return re.findall(r"[A-Za-z0-9_']+", sentence)


def answer(task, sentence):
    """The correct reply of `task` (a TASKS key) for `sentence`."""
    words = _words(sentence)
    return {
        "repeat": sentence,
        "first": words[0],
        "last": words[-1],
        "count": str(len(words)),
        "upper": sentence.upper(),
    }[task]


def wrong_answer(task, sentence, rng):
    """A plausible but wrong reply (for a rejected preference)."""
    words = _words(sentence)
    if task == "repeat":
        return " ".join(words[:-1]) + "."
    if task == "first":
        return words[-1] if words[-1] != words[0] else words[0] + "s"
    if task == "last":
        return words[0] if words[0] != words[-1] else words[-1] + "s"
    if task == "count":
        return str(len(words) + rng.choice((-1, 1)))
    return sentence.lower() if sentence.lower() != sentence.upper() else sentence + "!"


def corpus_sentences(max_words=7, min_words=3):
    """Short plain sentences from the built-in corpus, deduplicated, in corpus order."""
    from zoo.data.builtin_corpus import load_builtin_corpus

    seen, out = set(), []
    for document in load_builtin_corpus():
        for sentence in re.split(r"(?<=\.)\s+", " ".join(document.split())):
            words = _words(sentence)
            plain = re.fullmatch(r"[A-Z][A-Za-z0-9_ ,']*\.", sentence) is not None
            if plain and min_words <= len(words) <= max_words and sentence not in seen:
                seen.add(sentence)
                out.append(sentence)
    return out


def make_records(count=300, seed=0):
    """(instruction records, preference records): `count` of each, Alpaca and chat style mixed."""
    rng = random.Random(seed)
    sentences = corpus_sentences()
    rng.shuffle(sentences)
    instructions, preferences = [], []
    tasks = sorted(TASKS)
    for i in range(count):
        sentence = sentences[i % len(sentences)]
        task = tasks[i % len(tasks)]
        if i % 2 == 0:
            instructions.append(
                {"instruction": TASKS[task], "input": sentence, "output": answer(task, sentence), "source": SOURCE}
            )
        else:
            instructions.append(
                {
                    "messages": [
                        {"role": "user", "content": f"{TASKS[task]}\n\n{sentence}"},
                        {"role": "assistant", "content": answer(task, sentence)},
                    ],
                    "source": SOURCE,
                }
            )
        preferences.append(
            {
                "prompt": f"{TASKS[task]}\n\n{sentence}",
                "chosen": answer(task, sentence),
                "rejected": wrong_answer(task, sentence, rng),
                "task": task,
                "source": SOURCE,
            }
        )
    return instructions, preferences


def write_datasets(folder=DATASETS, count=300, seed=0):
    """Write instructions.jsonl and preferences.jsonl into `folder`; their paths."""
    instructions, preferences = make_records(count, seed)
    paths = []
    for name, records in (("instructions.jsonl", instructions), ("preferences.jsonl", preferences)):
        path = os.path.join(folder, name)
        write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        paths.append(path)
    return paths
