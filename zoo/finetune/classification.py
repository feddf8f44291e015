"""Fine-tune a sequence classifier (sentiment on texts, NLI on sentence pairs) and report it against baselines.

The steps: read the labelled files, pick the start (pretrained checkpoint, quick
built-in pretraining, or random weights), encode `[CLS] a [SEP] (b [SEP])`, put a
classifier head on the backbone, fit, and score the evaluation set after every
epoch. results.json holds accuracy and macro-F1 next to the majority-class
baseline (always answer the most frequent training label) and chance (1/classes).

Example:
    >>> options = FinetuneOptions(seq_len=64, epochs=12)  # doctest: +SKIP
    >>> results = train_classifier(options, run, task="nli", fields=("premise", "hypothesis"),  # doctest: +SKIP
    ...                            default_labels=NLI_LABELS)
"""

import collections
import time

from zoo.errors import UsageError


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


def train_classifier(options, run, task, fields, default_labels):
    """Run one fine-tuning of `task` ("sentiment" or "nli") into `run` (a zoo.recipe run folder);
    returns the results dict (also in results.json) with the "model" and "tokenizer"."""
    import keras
    import numpy as np

    from zoo.data.tokenizer import save_tokenizer
    from zoo.finetune.features import byte_fallback_share, encode_classification
    from zoo.finetune.formats import read_classification
    from zoo.finetune.metrics import classification_scores
    from zoo.finetune.pretrained import attach_head, model_inputs
    from zoo.finetune.training import (
        TaskScores,
        compile_for_finetuning,
        data_files,
        eval_batch_size,
        fit,
        label_names,
        schedule,
        starting_point,
    )

    # Data: the labelled files, then the start (pretrained, quick pretraining or random) and its tokenizer.
    options.check()
    labels = label_names(options, default_labels)
    train_file, eval_file = data_files(options, task)
    try:
        train_examples = read_classification(train_file, fields, labels)
        eval_examples = read_classification(eval_file, fields, labels)
    except ValueError as err:
        raise UsageError(str(err)) from None
    texts = [text for example in train_examples for text in example["texts"]]
    backbone, tokenizer, start = starting_point(options, texts)

    # Model: a classifier head on the backbone, AdamW with warmup and linear decay.
    model = attach_head("classifier", backbone, num_classes=len(labels))
    try:
        train_x, train_y, train_cut = encode_classification(train_examples, tokenizer, options.seq_len)
        eval_x, eval_y, eval_cut = encode_classification(eval_examples, tokenizer, options.seq_len)
    except ValueError as err:
        raise UsageError(str(err)) from None
    train_x, eval_x = model_inputs(train_x, model), model_inputs(eval_x, model)
    epochs, per_epoch, total_steps = schedule(options, len(train_y))
    eval_batch = eval_batch_size(len(eval_y), options.batch_size)
    compile_for_finetuning(
        model,
        options,
        total_steps,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )

    def score(m):
        predicted = np.argmax(m.predict(eval_x, batch_size=eval_batch, verbose=0), axis=-1)
        return classification_scores(eval_y, predicted, len(labels))

    # Fit: accuracy and macro-F1 on the evaluation set after every epoch.
    run.note(
        labels=list(labels),
        train_file=str(train_file),
        eval_file=str(eval_file),
        start=start,
        llm_config=backbone.llm_config.get_config(),
    )
    save_tokenizer(tokenizer, run.file("tokenizer"))
    scores = TaskScores(score, print_fn=print if options.verbose else None)
    print(
        f"fine-tuning {model.count_params():,} parameters ({start['init']}, {start['backbone']} backbone) on "
        f"{len(train_y)} examples for {epochs} epochs ({total_steps} steps); evaluating on {len(eval_y)}"
    )
    started = time.perf_counter()
    history = fit(model, train_x, train_y, (eval_x, eval_y), options, epochs, [scores, *run.callbacks()])
    seconds = time.perf_counter() - started

    # Report: the final scores next to the majority-class baseline and chance.
    logits = model.predict(eval_x, batch_size=eval_batch, verbose=0)
    predicted = np.argmax(logits, axis=-1)
    final = classification_scores(eval_y, predicted, len(labels))
    baseline = majority_baseline(train_y, eval_y, len(labels))
    baseline["label"] = labels[baseline["label"]]
    results = {
        "task": task,
        "language": options.language if options.train is None else None,
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
    predictions = [
        {"line": e["line"], "texts": list(e["texts"]), "label": labels[int(y)], "predicted": labels[int(p)]}
        for e, y, p in zip(eval_examples, eval_y, predicted)
    ]
    run.save_results(predictions, "predictions.json")
    results = run.finish(model, history, results, plot_title=f"{run.name} ({results['language'] or 'own data'})")
    print(
        f"{task}: accuracy {final['accuracy']:.3f}, macro-F1 {final['macro_f1']:.3f} on {len(eval_y)} examples; "
        f"majority baseline ({baseline['label']}) accuracy {baseline['accuracy']:.3f}, "
        f"macro-F1 {baseline['macro_f1']:.3f}"
    )
    return {**results, "model": model, "tokenizer": tokenizer}
