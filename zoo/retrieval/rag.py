"""Retrieval-augmented generation: retrieve passages for a question, put them in the prompt, generate.

The prompt a causal LM sees (and is fine-tuned on, see recipes/rag.py):

    context: <passage 1> <passage 2>
    question: <question>
    answer: <answer></s>

Without retrieval the "context:" line is left out (closed book). Fine-tuning
puts loss on the answer tokens only. Exact match (EM) compares answers after
SQuAD's normalisation (lower case, no punctuation, no articles, single spaces).

The QA set shipped here, `datasets/facts.jsonl`, is made up on purpose (200
facts about 40 fictional countries: capital, currency, highest mountain,
founding year, national animal), so no model can know an answer without
reading it; 10 countries (50 facts) are the test split.

Example:
    >>> format_prompt("What is the capital of Veltria?", ["The capital of Veltria is Orsk."])
    'context: The capital of Veltria is Orsk.\\nquestion: What is the capital of Veltria?\\nanswer:'
    >>> exact_match("The Orsk.", "orsk")
    True
"""

import json
import re
import string
from importlib import resources
from pathlib import Path

import numpy as np

from zoo.retrieval.passages import tokenize_texts

FACTS = "facts.jsonl"


def load_qa(path=None, split=None):
    """QA rows ({"question", "answer", "passage", ...}) from a JSONL file, or the shipped facts set.

    Example:
        >>> rows = load_qa(split="test")
        >>> len(rows), sorted(rows[0])[:3]
        (50, ['answer', 'entity', 'id'])
    """
    if path is None:
        text = resources.files("zoo.retrieval").joinpath("datasets", FACTS).read_text(encoding="utf-8")
        where = FACTS
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; give a JSONL file with question/answer per line")
        text, where = path.read_text(encoding="utf-8"), str(path)
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
            raise ValueError(f"{where}:{number}: each line needs string fields 'question' and 'answer'")
        rows.append(row)
    if split is not None:
        rows = [r for r in rows if r.get("split") == split]
    if not rows:
        raise ValueError(f"{where} has no QA rows{f' in split {split!r}' if split else ''}")
    return rows


def normalize_answer(text):
    """SQuAD's answer normalisation: lower case, punctuation and articles removed, spaces collapsed.

    Example:
        >>> normalize_answer("  The  Orsk! ")
        'orsk'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction, answer):
    """True when the normalised prediction equals the normalised answer.

    Example:
        >>> exact_match("Mount Luniolt", "mount luniolt."), exact_match("Luniolt", "Mount Luniolt")
        (True, False)
    """
    return normalize_answer(prediction) == normalize_answer(answer)


def format_prompt(question, passages=()):
    """The prompt for a question, with the retrieved passages as context (none: closed book).

    Example:
        >>> format_prompt("Who?")
        'question: Who?\\nanswer:'
    """
    context = " ".join(p.strip() for p in passages)
    head = f"context: {context}\n" if passages else ""
    return f"{head}question: {question.strip()}\nanswer:"


def prompt_and_answer_ids(tokenizer, prompt, answer):
    """Token ids of the prompt and of " answer" + </s>, so that prompt + answer tokenizes as a whole.

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["answer", ":", "orsk"])
        >>> [x.tolist() for x in prompt_and_answer_ids(tok, "answer:", "orsk")]
        [[7, 8], [9, 6]]
    """
    prompt_ids, full_ids = tokenize_texts([prompt, f"{prompt} {answer}"], tokenizer)
    n = len(prompt_ids)
    if len(full_ids) > n and np.array_equal(full_ids[:n], prompt_ids):
        answer_ids = full_ids[n:]
    else:  # the tokenizer merged across the boundary: tokenize the answer on its own
        answer_ids = tokenize_texts([f" {answer}"], tokenizer)[0]
    return prompt_ids, np.append(answer_ids, tokenizer.end_token_id).astype(np.int32)


_ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gr",
    "kr",
    "st",
    "tr",
    "th",
)
_VOWELS = ("a", "e", "i", "o", "u", "ae", "io", "ua")
_CODAS = ("n", "r", "l", "s", "th", "nd", "rk", "x", "m", "sk", "lt", "")


def made_up_like(word, rng):
    """A random stand-in for `word` of the same shape: digits for digits, a made-up name otherwise.

    Example:
        >>> import random
        >>> rng = random.Random(0)
        >>> made_up_like("1716", rng).isdigit(), made_up_like("Orsk", rng)[0].isupper()
        (True, True)
    """
    if word.isdigit():
        return str(rng.randint(10 ** (len(word) - 1), 10 ** len(word) - 1))
    syllables = max(1, min(3, len(word) // 3))
    out = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)) + rng.choice(_CODAS)
    return out.capitalize() if word[:1].isupper() else out


def counterfactual(row, rng):
    """A copy of a QA row whose answer (and entity, if the row names one) are replaced by made-up words.

    Fine-tuning on such copies teaches a small model to read the answer from the
    context: no answer can be memorised, since every copy has new ones.

    Example:
        >>> import random
        >>> row = {"question": "What is the capital of Veltria?", "answer": "Orsk", "entity": "Veltria",
        ...        "passage": "The capital of Veltria is Orsk."}
        >>> new = counterfactual(row, random.Random(1))
        >>> new["answer"] in new["passage"], "Veltria" in new["question"], new["answer"] != "Orsk"
        (True, False, True)
    """
    new = dict(row)
    words = row["answer"].split()
    # "Mount Luniolt": keep the template word, replace the name.
    replaced = " ".join(
        made_up_like(w, rng) if i == len(words) - 1 or not w[:1].isupper() else w for i, w in enumerate(words)
    )
    new["answer"] = replaced
    new["passage"] = row["passage"].replace(row["answer"], replaced)
    entity = row.get("entity")
    if entity:
        other = made_up_like(entity + "xx", rng)
        new["entity"] = other
        new["passage"] = new["passage"].replace(entity, other)
        new["question"] = row["question"].replace(entity, other)
    return new


def retrieve_contexts(store, questions, k=1, method=None):
    """The texts of the top-k passages for each question (a list of lists)."""
    if store is None:
        return [[] for _ in questions]
    return [[hit.text for hit in hits] for hits in store.search_many(questions, k=k, method=method)]


def training_arrays(tokenizer, questions, answers, contexts, seq_len):
    """(inputs, labels, weights) for fit(): [n, seq_len] arrays, loss weight 1 on answer tokens only.

    A prompt too long for seq_len loses its oldest context tokens (the question and
    "answer:" always stay).

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["question", "answer", ":", "x", "y"])
        >>> x, y, w = training_arrays(tok, ["x"], ["y"], [[]], seq_len=8)
        >>> x["token_ids"][0].tolist(), y[0].tolist(), w[0].tolist()
        ([7, 9, 10, 8, 9, 11, 6, 0], [9, 10, 8, 9, 11, 6, 0, 0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    """
    n = len(questions)
    ids = np.full((n, seq_len + 1), tokenizer.pad_token_id, np.int32)
    weights = np.zeros((n, seq_len + 1), np.float32)
    for i, (q, a, ctx) in enumerate(zip(questions, answers, contexts)):
        prompt_ids, answer_ids = prompt_and_answer_ids(tokenizer, format_prompt(q, ctx), a)
        row = np.concatenate([prompt_ids, answer_ids])[-(seq_len + 1) :]
        ids[i, : len(row)] = row
        weights[i, len(row) - len(answer_ids) : len(row)] = 1.0
    x = ids[:, :-1]
    inputs = {
        "token_ids": x,
        "padding_mask": (np.arange(seq_len)[None] < (ids != tokenizer.pad_token_id).sum(1)[:, None]).astype(np.int32),
    }
    return inputs, ids[:, 1:], weights[:, 1:]


def generate_answers(model, tokenizer, questions, contexts, max_new_tokens=8, max_prompt=None, jit_compile=False):
    """Greedy answers of a causal LM to questions with (possibly empty) contexts; a list of strings."""
    from zoo.retrieval.passages import detokenize_many

    limit = max_prompt or (model.llm_config.max_length - max_new_tokens)
    prompts = [
        ids[-limit:].tolist()
        for ids in tokenize_texts([format_prompt(q, c) for q, c in zip(questions, contexts)], tokenizer)
    ]
    out = model.generate(
        prompts,
        max_new_tokens=max_new_tokens,
        stop_token_ids=[tokenizer.end_token_id],
        pad_token_id=tokenizer.pad_token_id,
        jit_compile=jit_compile,
    )
    texts = detokenize_many(tokenizer, [row if len(row) else [tokenizer.pad_token_id] for row in out])
    # The answer is one line: stop at a newline the model may add.
    return [t.replace("[PAD]", "").split("\n")[0].strip() for t in texts]


def evaluate_em(model, tokenizer, rows, store=None, k=1, method=None, max_new_tokens=8, batch_size=64):
    """Exact match of the model's answers to `rows` (with retrieval from `store`, or closed book if None).

    Returns {"exact_match", "count", "retrieval_hit_rate" (gold passage among the retrieved; None closed book),
    "examples": first five (question, prediction, answer)}.
    """
    questions = [r["question"] for r in rows]
    answers = [r["answer"] for r in rows]
    contexts = retrieve_contexts(store, questions, k=k, method=method)
    predictions = []
    for s in range(0, len(rows), batch_size):
        predictions += generate_answers(
            model, tokenizer, questions[s : s + batch_size], contexts[s : s + batch_size], max_new_tokens=max_new_tokens
        )
    hits = [exact_match(p, a) for p, a in zip(predictions, answers)]
    hit_rate = None
    if store is not None and all("passage" in r for r in rows):
        hit_rate = float(
            np.mean(
                [
                    any(normalize_answer(r["passage"]) == normalize_answer(c) for c in ctx)
                    for r, ctx in zip(rows, contexts)
                ]
            )
        )
    return {
        "exact_match": float(np.mean(hits)),
        "count": len(rows),
        "retrieval_hit_rate": hit_rate,
        "examples": [
            {"question": q, "prediction": p, "answer": a} for q, p, a in list(zip(questions, predictions, answers))[:5]
        ],
    }
