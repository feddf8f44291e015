"""Recipe: fine-tune a pretrained encoder for extractive question answering (SQuAD-style) with model.fit.

The model reads `[CLS] question [SEP] context [SEP]` and scores every token as the
start and as the end of the answer; the answer is the best-scoring span inside the
context (start <= end, at most --max-answer-tokens long), cut from the context's
own characters. SQuAD's character offsets are mapped to token positions through
the tokenizer's offsets (see `zoo.finetune.features`).

Scores: SQuAD's exact match and F1 (answers normalized: lower case, punctuation
and articles removed). Japanese has no spaces, so its F1 counts shared
*characters* instead of words. results.json sets them next to a trivial baseline
that answers with the first words (characters for Japanese) of the context, as
many as the mean training answer has.

Start: --pretrained (a `zoo pretrain-mlm` run folder or .keras file: QA needs a
bidirectional encoder), a quick built-in masked-LM pretraining (--pretrain-steps),
or --from-scratch.

Data: SQuAD v1.1 JSON (also JSQuAD's layout); without --train/--eval the shipped
English or Japanese set (--language).

Run:
    zoo finetune-qa                               # or: python recipes/finetune_qa.py
    zoo finetune-qa --language ja
    zoo finetune-qa --pretrained runs/pretrain-mlm-20260101-120000 --train train-v1.1.json --eval dev-v1.1.json
"""

import sys
import time

from zoo.errors import UsageError
from zoo.finetune.options import FinetuneOptions, add_finetune_args
from zoo.options import positive_int
from zoo.recipe import Recipe

recipe = Recipe(
    "finetune-qa",
    "Fine-tune a pretrained encoder for extractive QA.",
    examples=[
        "zoo finetune-qa --epochs 2",
        "zoo finetune-qa --language ja",
        "zoo finetune-qa --pretrained runs/pretrain-mlm-20260101-120000 --train train-v1.1.json --eval dev-v1.1.json",
    ],
)


@recipe.options
def add_options(parser):
    add_finetune_args(parser, task="qa", seq_len=128, epochs=15, learning_rate=1e-3)
    parser.add_argument(
        "--max-answer-tokens",
        type=positive_int,
        default=16,
        help="longest answer span considered, in tokens (default: 16)",
    )


def first_words_baseline(train_examples, eval_examples, language):
    """Answer every question with the context's first k words (characters for Japanese),
    k = the mean length of the training answers."""
    from zoo.finetune.metrics import is_japanese, squad_scores

    def units(text):
        return list(text.replace(" ", "")) if is_japanese(text) else text.split()

    lengths = [len(units(e["answers"][0]["text"])) for e in train_examples]
    k = max(1, round(sum(lengths) / len(lengths)))
    guesses = [
        "".join(units(e["context"])[:k]) if is_japanese(e["context"]) else " ".join(e["context"].split()[:k])
        for e in eval_examples
    ]
    return {
        "name": f"first {k} words (characters for Japanese)",
        "length": k,
        **squad_scores(guesses, [[a["text"] for a in e["answers"]] for e in eval_examples], language),
    }


@recipe.body
def train(args, run):
    """Fine-tune and evaluate; returns the results dict (also in <run>/results.json)."""
    import keras

    from zoo.data.tokenizer import save_tokenizer
    from zoo.finetune.features import byte_fallback_share, encode_qa, predict_answers
    from zoo.finetune.formats import read_squad
    from zoo.finetune.metrics import squad_scores
    from zoo.finetune.pretrained import attach_head, model_inputs
    from zoo.finetune.training import (
        TaskScores,
        compile_for_finetuning,
        data_files,
        eval_batch_size,
        fit,
        schedule,
        starting_point,
    )

    # Data: SQuAD questions, the start (pretrained, quick pretraining or random) and answer spans in tokens.
    options = FinetuneOptions.from_args(args)
    options.check()
    train_file, eval_file = data_files(options, "qa")
    try:
        train_examples, eval_examples = read_squad(train_file), read_squad(eval_file)
    except ValueError as err:
        raise UsageError(str(err)) from None
    contexts = list(dict.fromkeys(e["context"] for e in train_examples))
    texts = contexts + [e["question"] for e in train_examples]
    backbone, tokenizer, start = starting_point(options, texts)
    try:
        model = attach_head("qa", backbone)
        train_f = encode_qa(train_examples, tokenizer, args.seq_len)
        eval_f = encode_qa(eval_examples, tokenizer, args.seq_len)
    except ValueError as err:
        raise UsageError(str(err)) from None
    keep = train_f["start"] >= 0  # answers cut off by the window teach nothing right
    if not keep.any():
        raise UsageError(f"No training answer fits in --seq-len {args.seq_len} tokens: raise --seq-len.")
    train_x = model_inputs({k: v[keep] for k, v in train_f["inputs"].items()}, model)
    train_y = {"start_logits": train_f["start"][keep], "end_logits": train_f["end"][keep]}
    inside = eval_f["start"] >= 0
    eval_x = model_inputs(eval_f["inputs"], model)
    validation = (
        {k: v[inside] for k, v in eval_x.items()},
        {"start_logits": eval_f["start"][inside], "end_logits": eval_f["end"][inside]},
    )
    gold = [[a["text"] for a in e["answers"]] for e in eval_examples]
    language = "auto" if args.train is not None else args.language

    # Model: start and end logits over the tokens, AdamW with warmup and linear decay.
    epochs, per_epoch, total_steps = schedule(options, int(keep.sum()))
    loss = {name: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for name in train_y}
    metrics = {name: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")] for name in train_y}
    compile_for_finetuning(model, options, total_steps, loss, metrics)

    def answers(m):
        out = m.predict(eval_x, batch_size=eval_batch_size(len(eval_examples), args.batch_size), verbose=0)
        return predict_answers(out["start_logits"], out["end_logits"], eval_f["meta"], args.max_answer_tokens)

    def score(m):
        return squad_scores(answers(m), gold, language)

    # Fit: exact match and F1 on the evaluation set after every epoch.
    run.note(
        train_file=str(train_file), eval_file=str(eval_file), start=start, llm_config=backbone.llm_config.get_config()
    )
    save_tokenizer(tokenizer, run.file("tokenizer"))
    scores = TaskScores(score, print_fn=print if args.verbose else None)
    print(
        f"fine-tuning {model.count_params():,} parameters ({start['init']}) on {int(keep.sum())} questions "
        f"({train_f['dropped']} dropped: answer outside {args.seq_len} tokens) for {epochs} epochs "
        f"({total_steps} steps); evaluating on {len(eval_examples)}"
    )
    started = time.perf_counter()
    history = fit(model, train_x, train_y, validation, options, epochs, [scores, *run.callbacks()])
    seconds = time.perf_counter() - started

    # Report: the final scores next to the first-words baseline, and every prediction.
    predicted = answers(model)
    final = squad_scores(predicted, gold, language)
    baseline = first_words_baseline(train_examples, eval_examples, language)
    results = {
        "task": "qa",
        "language": args.language if args.train is None else None,
        "f1_unit": "characters" if language == "ja" else "words (characters for Japanese answers)",
        "eval": final,
        "trivial_baseline": baseline,
        "beats_baseline_by": {
            "exact_match": final["exact_match"] - baseline["exact_match"],
            "f1": final["f1"] - baseline["f1"],
        },
        "train_questions": int(keep.sum()),
        "dropped_train_questions": int(train_f["dropped"]),
        "eval_questions": len(eval_examples),
        "eval_answers_outside_window": int((~inside).sum()),
        "byte_fallback_share": byte_fallback_share(tokenizer, contexts[:100]),
        "start": start,
        "epochs": int(epochs),
        "steps": int(total_steps),
        "train_seconds": float(seconds),
        "params": int(model.count_params()),
    }
    run.save_results(
        [
            {"id": e["id"], "question": e["question"], "gold": g, "predicted": p}
            for e, g, p in zip(eval_examples, gold, predicted)
        ],
        "predictions.json",
    )
    results = run.finish(model, history, results, plot_title=f"finetune-qa ({results['language'] or 'own data'})")
    print(
        f"QA: exact match {final['exact_match']:.3f}, F1 {final['f1']:.3f} on {len(eval_examples)} questions; "
        f"trivial baseline ({baseline['name']}) EM {baseline['exact_match']:.3f}, F1 {baseline['f1']:.3f}"
    )
    return {**results, "model": model, "tokenizer": tokenizer}


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
