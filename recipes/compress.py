"""Recipe: make a zoo model smaller and faster: prune, quantize (QAT, PTQ), distill, low-rank, LoRA, LLM int8/int4.

One command, one subcommand per technique. Each run writes runs/compress-<technique>-<timestamp>/
with config.json, results.json (accuracy or perplexity, sizes raw and gzipped, latency,
per-layer sparsity, layers skipped and why), the compressed model (model.keras and/or .tflite
files) and, where there was training, history.csv and plot.png.

TF-MOT only works on tf_keras models, so prune and qat go through zoo.compress's bridge
(the Keras 3 model is rebuilt in tf_keras, compressed, and its weights come back).

Run:
    zoo compress prune                       # the CNN on digits, 80% sparsity (PolynomialDecay)
    zoo compress prune --sparsity 0.5 --schedule constant --m-by-n 2:4
    zoo compress prune --model lstm          # the LSTM generator
    zoo compress prune --model llm --sparsity 0.5   # the causal LM's Dense/Embedding layers, one shot + fine-tune
    zoo compress qat                         # quantization-aware training of the CNN -> int8 TFLite
    zoo compress qat --model vgg16 --only dense probabilities
    zoo compress ptq --modes dynamic int8 float16 --from runs/train-cnn-20260101-120000
    zoo compress distill | low-rank | lora | quantize-llm ...   (their own recipes; see `zoo compress --help`)
or: python recipes/compress.py prune ...
"""

import argparse
import csv
import io
import sys

from zoo.errors import UsageError

TECHNIQUES = {
    "prune": "TF-MOT magnitude pruning (PolynomialDecay/ConstantSparsity, 2:4) with fine-tuning",
    "qat": "TF-MOT quantization-aware training -> int8 TFLite",
    "ptq": "post-training quantization to TFLite: float32, dynamic, float16, int8",
}
EXAMPLES = {
    "prune": ["zoo compress prune --sparsity 0.5 --schedule constant --m-by-n 2:4",
              "zoo compress prune --model llm --sparsity 0.5 --fine-tune-steps 50"],
    "qat": ["zoo compress qat --epochs 1", "zoo compress qat --model vgg16 --only dense probabilities"],
    "ptq": ["zoo compress ptq --modes dynamic int8", "zoo compress ptq --from runs/train-cnn-20260101-120000"],
}


def build_parser(prog=None):
    from zoo.recipe import examples_epilog
    from zoo.runs import add_run_args

    parser = argparse.ArgumentParser(prog=prog, description="Compress a zoo model with TF-MOT or TFLite.")
    sub = parser.add_subparsers(dest="technique", metavar="TECHNIQUE")

    def technique(name):
        return sub.add_parser(name, help=TECHNIQUES[name], description=TECHNIQUES[name],
                              epilog=examples_epilog(EXAMPLES[name]),
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    prune = technique("prune")
    prune.add_argument("--model", choices=("cnn", "lstm", "llm"), default="cnn", help="which zoo model (default: cnn)")
    prune.add_argument("--sparsity", type=float, default=0.8, help="target share of zero weights (default: 0.8)")
    prune.add_argument("--schedule", choices=("polynomial", "constant"), default="polynomial",
                       help="PolynomialDecay (gradual) or ConstantSparsity (default: polynomial)")
    prune.add_argument("--m-by-n", default=None, metavar="M:N",
                       help="structured sparsity, e.g. 2:4 (Dense/Conv2D only; replaces --sparsity there)")
    prune.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs while pruning (default: 3)")
    prune.add_argument("--fine-tune-steps", type=int, default=100,
                       help="LLM only: masked fine-tune steps after one-shot pruning (default: 100)")
    prune.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True,
                       help="also write the pruned model as a full-integer int8 TFLite file (cnn; default: on)")
    _common(prune, vgg=False)

    qat = technique("qat")
    qat.add_argument("--model", choices=("cnn", "vgg16"), default="cnn", help="which zoo model (default: cnn)")
    qat.add_argument("--only", nargs="+", default=None, metavar="LAYER",
                     help="quantize only these layers (e.g. the VGG16 head: dense probabilities)")
    qat.add_argument("--epochs", type=int, default=2, help="QAT fine-tuning epochs (default: 2)")
    qat.add_argument("--learning-rate", type=float, default=1e-4, help="QAT learning rate (default: 1e-4)")
    _common(qat)

    ptq = technique("ptq")
    ptq.add_argument("--model", choices=("cnn", "vgg16"), default="cnn", help="which zoo model (default: cnn)")
    ptq.add_argument("--modes", nargs="+", default=["float32", "dynamic", "float16", "int8"],
                     choices=("float32", "dynamic", "float16", "int8"), help="TFLite files to write (default: all four)")
    ptq.add_argument("--calibration-samples", type=int, default=200,
                     help="training images that calibrate int8 activation ranges (default: 200)")
    _common(ptq)

    for p in (prune, qat, ptq):
        add_run_args(p)
    return parser


def _common(parser, vgg=True):
    parser.add_argument("--from", dest="source", default=None, metavar="RUN_OR_FILE",
                        help="a trained model: a .keras file or a run folder holding model.keras "
                             "(default: train a fresh baseline first)")
    parser.add_argument("--base-epochs", type=int, default=None,
                        help="epochs of the baseline trained when --from is not given (default: per model)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    if not vgg:
        return
    parser.add_argument("--vgg-weights", default=None, metavar="WEIGHTS",
                        help="vgg16 only: 'imagenet' (from the Keras cache, never downloaded) or a local no-top "
                             "weights file (default: none, an untrained base)")


def main(argv=None, prog=None):
    """`main(["prune", ...])`; the other techniques (quantize-llm, distill, low-rank, lora) are their own
    recipes, reached through `zoo compress <technique>` (zoo/cli.py)."""
    from zoo.recipe import usage_exit

    argv = list(sys.argv[1:] if argv is None else argv)
    prog = prog or "zoo compress"
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.technique is None:
        parser.print_help()
        return 2
    import keras

    keras.utils.set_random_seed(args.seed)
    try:
        return {"prune": run_prune, "qat": run_qat, "ptq": run_ptq}[args.technique](args)
    except (UsageError, FileNotFoundError) as err:
        raise usage_exit(f"{prog} {args.technique}", err) from None


# --- the three TF-MOT/TFLite techniques ----------------------------------------------------


def run_prune(args):
    from zoo.compress import prune, ptq
    from zoo.compress.sizes import bytes_size
    from zoo.runs import RunFolder

    m_by_n = _parse_m_by_n(args.m_by_n)
    prune.check_sparsity(args.sparsity)
    _check_positive(epochs=args.epochs, batch_size=args.batch_size)
    run = RunFolder(f"compress-prune-{args.model}", vars(args), root=args.runs_dir)
    if args.model == "llm":
        return _prune_llm(args, run, m_by_n)
    model, (x, y), (x_test, y_test) = _baseline(args)
    before = _accuracy(model, x_test, y_test)
    result = prune.prune_model(model, x, y, target_sparsity=args.sparsity, schedule=args.schedule,
                               epochs=args.epochs, batch_size=args.batch_size, m_by_n=m_by_n,
                               validation_data=(x_test, y_test), log_dir=run.file("pruning_logs"),
                               verbose=args.verbose)
    results = {
        "model": args.model,
        "accuracy_before": before,
        "accuracy_after": _accuracy(result.model, x_test, y_test),
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
        _write_bytes(run.file("pruned_int8.tflite"), content)
        results["pruned_int8_tflite"] = {**bytes_size(content),
                                         "accuracy": ptq.TFLiteModel(content).evaluate(x_test, y_test)["accuracy"]}
    _write_history(run.file("history.csv"), result.history)
    results = run.finish(result.model, result.history, results, plot_title=f"pruning {args.model} to {args.sparsity:.0%}")
    _print_summary(results, ["accuracy_before", "accuracy_after", "overall_sparsity", "gzip_ratio"])
    if result.skipped:
        print("skipped (left dense): " + ", ".join(result.skipped))
    return 0


def _prune_llm(args, run, m_by_n):
    from zoo.compress import prune, workloads
    from zoo.compress.sizes import keras_weights_size

    model, train, test = _baseline(args)
    before = workloads.perplexity(model, test)
    size_before = keras_weights_size(model)
    one_shot = prune.prune_layers_one_shot(model, args.sparsity, m_by_n=m_by_n)
    after_one_shot = workloads.perplexity(model, test)
    history = workloads.lm_fine_tune(model, train, args.fine_tune_steps, batch_size=args.batch_size,
                                     callbacks=[prune.MaskKeeper(one_shot.masks)] + run.callbacks(),
                                     verbose=args.verbose)
    results = run.finish(model, history, {
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
    }, plot_title=f"LLM pruned to {args.sparsity:.0%}, fine-tune")
    _print_summary(results, ["perplexity_before", "perplexity_after_one_shot", "perplexity_after_fine_tune",
                             "overall_sparsity"])
    print("skipped (left dense): " + ", ".join(one_shot.skipped))
    return 0


def run_qat(args):
    from zoo.compress import ptq, qat
    from zoo.compress.bridge import copy_weights_back
    from zoo.compress.sizes import bytes_size
    from zoo.runs import RunFolder

    _check_positive(epochs=args.epochs, batch_size=args.batch_size)
    run = RunFolder(f"compress-qat-{args.model}", vars(args), root=args.runs_dir)
    model, (x, y), (x_test, y_test) = _baseline(args)
    float_content = ptq.quantize_tflite(model, "float32")
    float_tflite = ptq.TFLiteModel(float_content)
    result = qat.quantize_aware_train(model, x, y, epochs=args.epochs, batch_size=args.batch_size,
                                      learning_rate=args.learning_rate, only=args.only,
                                      validation_data=(x_test, y_test), verbose=args.verbose)
    content = qat.qat_tflite(result.tf_keras_model)
    _write_bytes(run.file("qat_int8.tflite"), content)
    _write_bytes(run.file("float32.tflite"), float_content)
    int8 = ptq.TFLiteModel(content)
    copy_weights_back(result.tf_keras_model, model)  # the QAT-tuned float weights, as a Keras 3 model
    float_size, int8_size = bytes_size(float_content), bytes_size(content)
    results = {
        "model": args.model,
        "float32_tflite": {**float_size, "accuracy": float_tflite.evaluate(x_test, y_test)["accuracy"],
                           "latency_ms": float_tflite.latency_ms(x_test)},
        "qat_int8_tflite": {**int8_size, "accuracy": int8.evaluate(x_test, y_test)["accuracy"],
                            "latency_ms": int8.latency_ms(x_test)},
        "size_ratio": float_size["raw_bytes"] / int8_size["raw_bytes"],
        "quantized_layers": result.quantized,
        "skipped_layers": result.skipped,
    }
    _write_history(run.file("history.csv"), result.history)
    results = run.finish(model, result.history, results, plot_title=f"QAT of {args.model}")
    print(f"float32 TFLite: accuracy {results['float32_tflite']['accuracy']:.4f}, "
          f"{float_size['raw_bytes']:,} bytes; QAT int8: accuracy {results['qat_int8_tflite']['accuracy']:.4f}, "
          f"{int8_size['raw_bytes']:,} bytes ({results['size_ratio']:.2f}x smaller)")
    return 0


def run_ptq(args):
    from zoo.compress import ptq
    from zoo.compress.sizes import bytes_size
    from zoo.runs import RunFolder

    _check_positive(batch_size=args.batch_size, calibration_samples=args.calibration_samples)
    run = RunFolder(f"compress-ptq-{args.model}", vars(args), root=args.runs_dir)
    model, (x, y), (x_test, y_test) = _baseline(args)
    rows = {}
    for mode in args.modes:
        content = ptq.quantize_tflite(model, mode, representative_data=x[: args.calibration_samples])
        _write_bytes(run.file(f"model-{mode}.tflite"), content)
        tflite = ptq.TFLiteModel(content)
        rows[mode] = {**bytes_size(content), "accuracy": tflite.evaluate(x_test, y_test)["accuracy"],
                      "latency_ms": tflite.latency_ms(x_test)}
        print(f"{mode:>8}: accuracy {rows[mode]['accuracy']:.4f}, {rows[mode]['raw_bytes']:,} bytes, "
              f"{rows[mode]['latency_ms']:.3f} ms/image")
    run.finish(model if args.source is None else None, None,
               {"model": args.model, "keras_accuracy": _accuracy(model, x_test, y_test), "tflite": rows})
    return 0


# --- helpers -------------------------------------------------------------------------------


def _baseline(args):
    """(trained Keras 3 model, train, test) from --from, or trained now."""
    from zoo.compress import workloads

    epochs = args.base_epochs
    if args.model == "llm":
        if args.source:
            raise UsageError("--from is not supported for --model llm here; the recipe trains a byte-level LM.")
        return workloads.trained_lm(steps=epochs * 100 if epochs else 300, verbose=args.verbose)
    data = {"cnn": lambda: workloads.digits(), "vgg16": lambda: workloads.digits(size=32, channels=3),
            "lstm": None}[args.model]
    if args.source:
        model = _load(args.source)
        if data is None:
            raise UsageError("--from is not supported for --model lstm here; the recipe trains its own generator.")
        train, test = data()
        return model, train, test
    if args.model == "cnn":
        return workloads.trained_cnn(epochs=epochs or 10, batch_size=args.batch_size, seed=args.seed, verbose=args.verbose)
    if args.model == "vgg16":
        return workloads.trained_vgg16_transfer(epochs=epochs or 3, batch_size=args.batch_size, seed=args.seed,
                                                weights=args.vgg_weights, verbose=args.verbose)
    return workloads.trained_lstm(epochs=epochs or 2, seed=args.seed, verbose=args.verbose)


def _load(source):
    import keras

    import zoo.losses  # noqa: F401  (registers the loss zoo's models are compiled with)
    from zoo.runs import find_run

    try:
        return keras.models.load_model(find_run(source).model_file)
    except FileNotFoundError as err:
        raise UsageError(f"--from {source}: {err}") from None


def _accuracy(model, x, y):
    import numpy as np

    predicted = np.asarray(model.predict(x, verbose=0)).argmax(-1)
    labels = np.asarray(y)
    labels = labels.argmax(-1) if labels.ndim > 1 else labels
    return float(np.mean(predicted == labels))


def _parse_m_by_n(text):
    if text is None:
        return None
    try:
        m, n = (int(v) for v in text.split(":"))
    except ValueError:
        raise UsageError(f"--m-by-n must look like 2:4 (m zeros in every n weights), got {text!r}.") from None
    if not 0 < m < n:
        raise UsageError(f"--m-by-n needs 0 < m < n, got {text!r}.")
    return (m, n)


def _check_positive(**values):
    for name, value in values.items():
        if value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}.")


def _write_bytes(path, content):
    from zoo.data.atomic_files import write_bytes_atomic

    write_bytes_atomic(path, content)


def _write_history(path, history):
    from zoo.data.atomic_files import write_text_atomic

    if not history:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = list(history)
    writer.writerow(["epoch"] + keys)
    for epoch in range(len(history[keys[0]])):
        writer.writerow([epoch] + [history[k][epoch] for k in keys])
    write_text_atomic(path, buffer.getvalue())


def _print_summary(results, keys):
    for key in keys:
        value = results.get(key)
        if value is not None:
            print(f"{key}: {value:.4f}")


if __name__ == "__main__":
    sys.exit(main())
