"""Fine-tune a sequence classifier (sentiment on texts, NLI on sentence pairs) and report it against baselines.

The steps: read the labelled files, pick the start (pretrained checkpoint, quick
built-in pretraining, or random weights), encode `[CLS] a [SEP] (b [SEP])`, put a
classifier head on the backbone, fit, and score the evaluation set after every
epoch. results.json holds accuracy and macro-F1 next to the majority-class
baseline (always answer the most frequent training label) and chance (1/classes).

Example:
    >>> results = train_classifier(args, task="nli", fields=("premise", "hypothesis"),  # doctest: +SKIP
    ...                            default_labels=NLI_LABELS, recipe="finetune-nli")
"""

import collections
import time


def majority_baseline(train_labels, eval_labels, num_classes):
    """Scores of always predicting the most frequent training label (lowest id on a tie).

    Example:
        >>> majority_baseline([1, 1, 0], [0, 1, 1, 1], 2)["accuracy"]
        0.75
    """
    from zoo.finetune.metrics import classification_scores

    counts = collections.Counter(int(y) for y in train_labels)
    label = min(counts, key=lambda c: (-counts[c], c))
    return {"label": int(label), **classification_scores(eval_labels, [label] * len(eval_labels), num_classes)}


def train_classifier(args, task, fields, default_labels, recipe):
    """Run one fine-tuning of `task` ("sentiment" or "nli"); returns the results dict (also in results.json)."""
    import numpy as np

    from zoo.data.tokenizer import save_tokenizer
    from zoo.finetune.features import byte_fallback_share, encode_classification
    from zoo.finetune.formats import read_classification
    from zoo.finetune.metrics import classification_scores
    from zoo.finetune.pretrained import attach_head, model_inputs
    from zoo.finetune.training import (TaskScores, check_args, compile_for_finetuning, data_files, eval_batch_size,
                                       fit, labels_from_args, schedule, starting_point)
    from zoo.runs import RunFolder

    import keras

    check_args(args)
    keras.utils.set_random_seed(args.seed)
    labels = labels_from_args(args, default_labels)
    train_file, eval_file = data_files(args, task)
    try:
        train_examples = read_classification(train_file, fields, labels)
        eval_examples = read_classification(eval_file, fields, labels)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(str(err)) from None
    texts = [text for example in train_examples for text in example["texts"]]
    backbone, tokenizer, start = starting_point(args, texts)
    model = attach_head("classifier", backbone, num_classes=len(labels))
    try:
        train_x, train_y, train_cut = encode_classification(train_examples, tokenizer, args.seq_len)
        eval_x, eval_y, eval_cut = encode_classification(eval_examples, tokenizer, args.seq_len)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    train_x, eval_x = model_inputs(train_x, model), model_inputs(eval_x, model)
    epochs, per_epoch, total_steps = schedule(args, len(train_y))
    eval_batch = eval_batch_size(len(eval_y), args.batch_size)
    compile_for_finetuning(model, args, total_steps,
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                           metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])

    def score(m):
        predicted = np.argmax(m.predict(eval_x, batch_size=eval_batch, verbose=0), axis=-1)
        return classification_scores(eval_y, predicted, len(labels))

    run = RunFolder(recipe, {**vars(args), "labels": list(labels), "train_file": str(train_file),
                             "eval_file": str(eval_file), "start": start,
                             "llm_config": backbone.llm_config.get_config()}, root=args.runs_dir)
    save_tokenizer(tokenizer, run.file("tokenizer"))
    scores = TaskScores(score, print_fn=print if args.verbose else None)
    print(f"fine-tuning {model.count_params():,} parameters ({start['init']}, {start['backbone']} backbone) on "
          f"{len(train_y)} examples for {epochs} epochs ({total_steps} steps); evaluating on {len(eval_y)}")
    started = time.perf_counter()
    history = fit(model, train_x, train_y, (eval_x, eval_y), args, epochs, [scores, *run.callbacks()])
    seconds = time.perf_counter() - started

    logits = model.predict(eval_x, batch_size=eval_batch, verbose=0)
    predicted = np.argmax(logits, axis=-1)
    final = classification_scores(eval_y, predicted, len(labels))
    baseline = majority_baseline(train_y, eval_y, len(labels))
    baseline["label"] = labels[baseline["label"]]
    results = {
        "task": task,
        "language": args.language if args.train is None else None,
        "labels": list(labels),
        "eval": final,
        "majority_baseline": baseline,
        "chance_accuracy": 1.0 / len(labels),
        "beats_majority_by": final["accuracy"] - baseline["accuracy"],
        "train_examples": len(train_y),
        "eval_examples": len(eval_y),
        "truncated_examples": {"train": int(train_cut), "eval": int(eval_cut)},
        "byte_fallback_share": byte_fallback_share(tokenizer, texts[:200]),
        "start": start,
        "epochs": int(epochs),
        "steps": int(total_steps),
        "train_seconds": float(seconds),
        "params": int(model.count_params()),
    }
    predictions = [{"line": e["line"], "texts": list(e["texts"]), "label": labels[int(y)],
                    "predicted": labels[int(p)]} for e, y, p in zip(eval_examples, eval_y, predicted)]
    run.save_results(predictions, "predictions.json")
    results = run.finish(model, history, results, plot_title=f"{recipe} ({results['language'] or 'own data'})")
    print(f"{task}: accuracy {final['accuracy']:.3f}, macro-F1 {final['macro_f1']:.3f} on {len(eval_y)} examples; "
          f"majority baseline ({baseline['label']}) accuracy {baseline['accuracy']:.3f}, "
          f"macro-F1 {baseline['macro_f1']:.3f}")
    return {**results, "model": model, "tokenizer": tokenizer}
