"""The instruction-tuning stage: SFT of a causal LM on conversations, measured before and after.

Shared by `zoo sft` and `zoo dpo` (which instruction-tunes a fresh model first when
given no --from). The last `held_fraction` of the conversations is held out: the
report gives the reply loss (cross-entropy per assistant token) and the exact match
of greedy replies on it, before and after training.

Example:
    >>> report = instruction_tune(model, tokenizer, template, conversations, steps=100)   # doctest: +SKIP
    >>> report["held_out_loss_after"] < report["held_out_loss_before"]                    # doctest: +SKIP
    True
"""

import dataclasses

from zoo.errors import UsageError


@dataclasses.dataclass
class SFTOptions:
    """How to fine-tune: steps, batch, window, learning rate, packing, LoRA rank (0: every weight)."""

    steps: int = 200
    batch_size: int = 16
    seq_len: int = 96
    learning_rate: float = 1e-3
    pack: bool = False
    lora_rank: int = 0
    held_fraction: float = 0.1
    eval_examples: int = 40
    seed: int = 0
    verbose: int = 1


def split_held_out(items, fraction):
    """(train, held-out): the last `fraction` (at least one) is held out."""
    held = max(1, round(len(items) * fraction)) if fraction > 0 else 0
    if held >= len(items):
        raise UsageError(f"{len(items)} records are too few to hold some out; give more data or --held-out 0.")
    return items[: len(items) - held], items[len(items) - held :]


def instruction_tune(model, tokenizer, template, conversations, options=None, callbacks=()):
    """Fine-tune `model` in place on the conversations; a report dict, with the model to save under "model"."""
    options = options or SFTOptions()
    from zoo.dialogue.fitting import fit_for_steps
    from zoo.dialogue.replies import exact_match, generate_replies
    from zoo.dialogue.sft import encode_conversations, reply_loss, sft_arrays

    train, held = split_held_out(conversations, options.held_fraction)
    pad = getattr(tokenizer, "pad_token_id", None) or 0
    x, y, w = sft_arrays(encode_conversations(train, tokenizer, template), options.seq_len, pad, options.pack)
    held_arrays = sft_arrays(encode_conversations(held, tokenizer, template), options.seq_len, pad) if held else None
    report = {
        "train_conversations": len(train),
        "held_out_conversations": len(held),
        "train_rows": len(y),
        "assistant_token_share": float(w.sum() / (x["padding_mask"].sum() or 1)),
    }
    probe = [c for c in held if c[-1]["role"] == "assistant"][: options.eval_examples]
    questions, answers = [c[:-1] for c in probe], [c[-1]["content"] for c in probe]
    if held_arrays is not None:
        report["held_out_loss_before"] = reply_loss(model, *held_arrays)
    if questions:
        report["exact_match_before"] = exact_match(generate_replies(model, tokenizer, template, questions), answers)
    if options.lora_rank:
        from zoo.compress.lora import enable_lora

        lora = enable_lora(model, rank=options.lora_rank)
        report["lora_trainable_params"] = lora["trainable_params"]
    import keras

    # Weighted, so the accuracy (like the loss) counts only the assistant's tokens.
    model.compile(
        learning_rate=options.learning_rate,
        weight_decay=0.0,
        metrics=[],
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="reply_accuracy")],
    )
    history = fit_for_steps(
        model,
        (x, y, w),
        options.steps,
        options.batch_size,
        options.seed,
        epochs=min(5, options.steps),
        validation_data=held_arrays,
        verbose=options.verbose,
        callbacks=callbacks,
    )
    if held_arrays is not None:
        report["held_out_loss_after"] = reply_loss(model, *held_arrays)
    if questions:
        replies = generate_replies(model, tokenizer, template, questions)
        report["exact_match_after"] = exact_match(replies, answers)
        report["samples"] = [
            {"prompt": q[-1]["content"], "reply": r, "answer": a}
            for q, r, a in list(zip(questions, replies, answers))[:3]
        ]
    if options.lora_rank:
        from zoo.compress.lora import merged_model

        model = merged_model(model).attach_tokenizer(tokenizer)
    return {**report, "model": model, "history": history}
