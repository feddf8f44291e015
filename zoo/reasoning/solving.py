"""Decode a trained model's solutions with each method and score them by exact match.

Methods:
- "direct": greedy, the answer right after the prompt;
- "scratchpad": greedy, the steps and then the answer;
- "self-consistency": `samples` scratchpad chains sampled at `temperature`, majority answer;
- "tool": greedy; whenever the model closes a calculator call with `]`, decoding pauses,
  `zoo.reasoning.calculator` inserts the result and decoding resumes.

"tokens" counts what the model generated (end token included; the calculator's inserted
characters excluded), summed over all chains of a problem.

Example:
    >>> results = solve(model, CharTokenizer(), problems, "tool")   # doctest: +SKIP
    >>> exact_match(results, problems)                              # doctest: +SKIP
    0.98
"""

import numpy as np

from zoo.reasoning.arithmetic import final_answer, target_segments
from zoo.reasoning.calculator import run_call
from zoo.reasoning.self_consistency import majority_vote

METHODS = ("direct", "scratchpad", "self-consistency", "tool")
TRAINED_FORMAT = {"direct": "direct", "scratchpad": "scratchpad", "self-consistency": "scratchpad", "tool": "tool"}


def encode_example(tokenizer, problem, kind):
    """(ids, weights) of prompt + target + end token: weight 1 on what the model must write."""
    ids, weights = tokenizer.encode(problem.prompt), [0] * len(problem.prompt)
    for text, learned in target_segments(problem, kind):
        ids += tokenizer.encode(text)
        weights += [int(learned)] * len(text)
    return np.asarray(ids + [tokenizer.end_token_id], "int32"), np.asarray(weights + [1], "int32")


def decode_chains(model, tokenizer, prompts, use_tool=False, max_new_tokens=None, max_calls=2, **sampling):
    """Generate a solution for each prompt (text); (texts, generated token counts)."""
    from zoo.llm.models.generation import generate

    end = tokenizer.end_token_id
    stops = [end, tokenizer.token_id("]")] if use_tool else [end]
    rows = [tokenizer.encode(p) for p in prompts]
    texts, counts = [""] * len(prompts), [0] * len(prompts)
    active = list(range(len(prompts)))
    limit = model.llm_config.max_length
    for _ in range(max_calls + 1 if use_tool else 1):
        if not active:
            break
        # By default prompt + budget = the model's whole length: one padded shape, so the compiled decode
        # loop is traced once per batch size rather than once per prompt length (decoding ends at </s> anyway).
        budget = limit - max(len(rows[i]) for i in active)
        budget = budget if max_new_tokens is None else min(budget, max_new_tokens)
        if budget < 1:
            break
        new = generate(model, [rows[i] for i in active], max_new_tokens=budget, stop_token_ids=stops, **sampling)
        paused = []
        for i, ids in zip(active, new):
            ids = [int(t) for t in ids]
            stopped = len(ids) < budget
            counts[i] += len(ids) + int(stopped)  # the stop token was generated too
            rows[i] += ids
            texts[i] += tokenizer.decode(ids)
            result = run_call(texts[i]) if use_tool and stopped else None
            if result is not None:  # it stopped on "]": run the calculator, insert, resume
                texts[i] += "]" + result
                rows[i] += tokenizer.encode("]" + result)
                paused.append(i)
        active = paused
    return texts, counts


def solve(model, tokenizer, problems, method, samples=5, temperature=0.7, seed=0, max_new_tokens=None):
    """[{"text", "answer", "tokens"}] for each problem, decoded with `method` (one of METHODS)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    prompts = [p.prompt for p in problems]
    if method != "self-consistency":
        texts, counts = decode_chains(
            model, tokenizer, prompts, use_tool=method == "tool", max_new_tokens=max_new_tokens
        )
        return [{"text": t, "answer": final_answer(t), "tokens": c} for t, c in zip(texts, counts)]
    texts, counts = decode_chains(
        model,
        tokenizer,
        [p for p in prompts for _ in range(samples)],
        max_new_tokens=max_new_tokens,
        sampler="random",
        temperature=temperature,
        seed=seed,
    )
    results = []
    for i in range(len(problems)):
        chains = texts[i * samples : (i + 1) * samples]
        results.append(
            {
                "text": chains,
                "answer": majority_vote([final_answer(t) for t in chains]),
                "tokens": sum(counts[i * samples : (i + 1) * samples]),
            }
        )
    return results


def exact_match(results, problems):
    """Share of problems whose decoded answer equals the true answer."""
    return float(np.mean([r["answer"] == p.answer for r, p in zip(results, problems)])) if problems else 0.0


def mean_tokens(results):
    return float(np.mean([r["tokens"] for r in results])) if results else 0.0
