"""Recipe: TF-MOT magnitude pruning of a zoo model, with fine-tuning while it prunes.

The CNN and the LSTM are pruned gradually (PolynomialDecay) or at once (ConstantSparsity),
optionally 2:4 structured; TF-MOT only works on tf_keras models, so they go through
zoo.compress's bridge (the Keras 3 model is rebuilt in tf_keras, pruned, and its weights
come back). The causal LM's Dense/Embedding layers are pruned one shot and fine-tuned with
the masks kept. results.json holds accuracy (or perplexity) before and after, per-layer
sparsity, layers skipped and why, and the weights file raw and gzipped.

Run:
    zoo compress prune                       # or: python recipes/compress_prune.py
    zoo compress prune --sparsity 0.5 --schedule constant --m-by-n 2:4
    zoo compress prune --model llm --sparsity 0.5   # one shot + fine-tune
"""

import argparse
import sys

from zoo.compress.baseline import accuracy, add_baseline_args, baseline
from zoo.data.atomic_files import write_bytes_atomic
from zoo.options import fraction, positive_int
from zoo.recipe import Recipe
from zoo.runs import write_history_csv

recipe = Recipe(
    "compress-prune",
    "TF-MOT magnitude pruning (PolynomialDecay/ConstantSparsity, 2:4) with fine-tuning.",
    examples=[
        "zoo compress prune --sparsity 0.5 --schedule constant --m-by-n 2:4",
        "zoo compress prune --model llm --sparsity 0.5 --fine-tune-steps 50",
    ],
    training=False,
    command="compress prune",
)


@recipe.options
def add_options(parser):
    parser.add_argument("--model", choices=("cnn", "lstm", "llm"), default="cnn", help="which zoo model (default: cnn)")
    parser.add_argument("--sparsity", type=fraction, default=0.8, help="target share of zero weights (default: 0.8)")
    parser.add_argument(
        "--schedule",
        choices=("polynomial", "constant"),
        default="polynomial",
        help="PolynomialDecay (gradual) or ConstantSparsity (default: polynomial)",
    )
    parser.add_argument(
        "--m-by-n",
        default=None,
        metavar="M:N",
        help="structured sparsity, e.g. 2:4 (Dense/Conv2D only; replaces --sparsity there)",
    )
    parser.add_argument("--epochs", type=positive_int, default=3, help="fine-tuning epochs while pruning (default: 3)")
    parser.add_argument(
        "--fine-tune-steps",
        type=positive_int,
        default=100,
        help="LLM only: masked fine-tune steps after one-shot pruning (default: 100)",
    )
    parser.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write the pruned model as a full-integer int8 TFLite file (cnn; default: on)",
    )
    add_baseline_args(parser, vgg=False)


def print_scores(results, keys):
    for key in keys:
        if results.get(key) is not None:
            print(f"{key}: {results[key]:.4f}")


@recipe.body
def run_prune(args, run):
    from zoo.compress import prune, ptq
    from zoo.compress.baseline import parse_m_by_n
    from zoo.compress.sizes import bytes_size

    m_by_n = parse_m_by_n(args.m_by_n)
    prune.check_sparsity(args.sparsity)
    run.name = f"compress-prune-{args.model}"
    if args.model == "llm":
        return prune_llm(args, run, m_by_n)
    model, (x, y), (x_test, y_test) = baseline(
        args.model,
        args.source,
        args.base_epochs,
        args.batch_size,
        args.seed,
        args.verbose,
        getattr(args, "vgg_weights", None),
    )
    before = accuracy(model, x_test, y_test)
    result = prune.prune_model(
        model,
        x,
        y,
        target_sparsity=args.sparsity,
        schedule=args.schedule,
        epochs=args.epochs,
        batch_size=args.batch_size,
        m_by_n=m_by_n,
        validation_data=(x_test, y_test),
        log_dir=run.file("pruning_logs"),
        verbose=args.verbose,
    )
    results = {
        "model": args.model,
        "accuracy_before": before,
        "accuracy_after": accuracy(result.model, x_test, y_test),
        "overall_sparsity": result.overall_sparsity,
        "sparsity_per_layer": result.sparsity,
        "pruned_layers": result.pruned,
        "skipped_layers": result.skipped,
        "weights_file_before": result.size_before,
        "weights_file_after": result.size_after,
        "gzip_ratio": result.size_before["gzip_bytes"] / result.size_after["gzip_bytes"],
    }
    if args.int8 and args.model == "cnn":
        content = ptq.quantize_tflite(result.tf_keras_model, "int8", representative_data=x[:200])
        write_bytes_atomic(run.file("pruned_int8.tflite"), content)
        results["pruned_int8_tflite"] = {
            **bytes_size(content),
            "accuracy": ptq.TFLiteModel(content).evaluate(x_test, y_test)["accuracy"],
        }
    write_history_csv(run.file("history.csv"), result.history)
    results = run.finish(
        result.model, result.history, results, plot_title=f"pruning {args.model} to {args.sparsity:.0%}"
    )
    print_scores(results, ["accuracy_before", "accuracy_after", "overall_sparsity", "gzip_ratio"])
    if result.skipped:
        print("skipped (left dense): " + ", ".join(result.skipped))
    return results


def prune_llm(args, run, m_by_n):
    from zoo.compress import prune, workloads
    from zoo.compress.sizes import keras_weights_size

    model, train, test = baseline(
        args.model,
        args.source,
        args.base_epochs,
        args.batch_size,
        args.seed,
        args.verbose,
        getattr(args, "vgg_weights", None),
    )
    before = workloads.perplexity(model, test)
    size_before = keras_weights_size(model)
    one_shot = prune.prune_layers_one_shot(model, args.sparsity, m_by_n=m_by_n)
    after_one_shot = workloads.perplexity(model, test)
    history = workloads.lm_fine_tune(
        model,
        train,
        args.fine_tune_steps,
        batch_size=args.batch_size,
        callbacks=[prune.MaskKeeper(one_shot.masks)] + run.callbacks(),
        verbose=args.verbose,
    )
    results = run.finish(
        model,
        history,
        {
            "model": "llm",
            "perplexity_before": before,
            "perplexity_after_one_shot": after_one_shot,
            "perplexity_after_fine_tune": workloads.perplexity(model, test),
            "overall_sparsity": prune.pruned_sparsity(model, one_shot.pruned)[0],
            "sparsity_per_layer": prune.pruned_sparsity(model, one_shot.pruned)[1],
            "pruned_layers": one_shot.pruned,
            "skipped_layers": one_shot.skipped,
            "weights_file_before": size_before,
            "weights_file_after": keras_weights_size(model),
        },
        plot_title=f"LLM pruned to {args.sparsity:.0%}, fine-tune",
    )
    print_scores(
        results, ["perplexity_before", "perplexity_after_one_shot", "perplexity_after_fine_tune", "overall_sparsity"]
    )
    print("skipped (left dense): " + ", ".join(one_shot.skipped))
    return results


main = recipe.main

if __name__ == "__main__":
    sys.exit(main())
