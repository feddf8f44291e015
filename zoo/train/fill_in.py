"""Fill-in examples for a masked LM: sentences of the user's corpus with one token hidden, and the model's guesses.

A masked LM's loss says little to a reader; seeing it fill a blank in a real
sentence of its own (validation) corpus says more, in the corpus's language.
`fill_in_examples` picks the sentences and the token to hide (never a special
token, never the first or last piece); `predict_fill_ins` runs a MaskedLM on them.

Example:
    >>> from zoo.data.tokenizer import train_tokenizer
    >>> texts = ["吾輩は猫である。名前はまだ無い。", "The cat sat on the mat."] * 50
    >>> tok = train_tokenizer(texts, vocab_size=290)
    >>> example = fill_in_examples(texts, tok, count=1)[0]
    >>> example["token_ids"][example["position"]] == tok.mask_token_id, "[MASK]" in example["masked_text"]
    (True, True)
"""

import random

import numpy as np


def fill_in_examples(texts, tokenizer, count=3, seed=0, max_tokens=32):
    """Return up to `count` dicts {"text", "masked_text", "token_ids", "position", "answer"} from prose lines of `texts`.

    `token_ids` is [CLS] tokens [SEP] (at most `max_tokens` long) with one token replaced by [MASK].
    """
    from zoo.data.prompts import _prose_lines

    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    examples = []
    for index in order:
        for line in _prose_lines(texts[index]):
            ids = [int(i) for i in np.asarray(tokenizer.tokenize(line)).ravel()][: max_tokens - 2]
            if len(ids) < 4:
                continue
            position = rng.randrange(1, len(ids) - 1)
            answer = ids[position]
            if answer < 7:  # a special token (the first seven ids) is never a blank to fill
                continue
            masked = ids[:position] + [tokenizer.mask_token_id] + ids[position + 1 :]
            before = str(tokenizer.detokenize(ids[:position])) if position else ""
            after = str(tokenizer.detokenize(ids[position + 1 :]))
            examples.append(
                {
                    "text": line,
                    "masked_text": f"{before}[MASK]{after}",
                    "token_ids": [tokenizer.cls_token_id] + masked + [tokenizer.sep_token_id],
                    "position": position + 1,
                    "answer": answer,
                }
            )
            break
        if len(examples) == count:
            break
    return examples


def predict_fill_ins(model, tokenizer, examples, top_k=3):
    """Return, per example, the model's `top_k` guesses for the blank as (token, probability), best first."""
    import keras

    results = []
    for example in examples:
        ids = np.asarray([example["token_ids"]], dtype="int32")
        inputs = {
            "token_ids": ids,
            "padding_mask": np.ones_like(ids),
            "mask_positions": np.asarray([[example["position"]]], dtype="int32"),
        }
        if "segment_ids" in {getattr(i, "name", "") for i in model.inputs}:
            inputs["segment_ids"] = np.zeros_like(ids)  # one segment: the sentence is segment A
        out = model(inputs, training=False)
        logits = keras.ops.convert_to_numpy(out["mlm"] if isinstance(out, dict) else out)[0, 0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = np.argsort(-probs)[:top_k]
        results.append([(str(tokenizer.id_to_token(int(i))), float(probs[i])) for i in best])
    return results


def fill_in_lines(model, tokenizer, examples, top_k=3):
    """Return printable lines: the sentence with its blank, the hidden token and the model's guesses.

    Example:
        >>> fill_in_lines(None, None, [])
        []
    """
    if not examples:
        return []
    lines = []
    for example, guesses in zip(examples, predict_fill_ins(model, tokenizer, examples, top_k)):
        answer = str(tokenizer.id_to_token(int(example["answer"])))
        shown = ", ".join(f"{token!r} {p:.2f}" for token, p in guesses)
        lines.append(f"{example['masked_text']!r}: answer {answer!r}; model: {shown}")
    return lines
