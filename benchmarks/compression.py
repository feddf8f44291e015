"""Benchmark: what pruning and quantization cost in accuracy and save in size and latency, measured in one run.

CNN (the tutorial's, on scikit-learn's digits at 28x28): every row is a TFLite file,
run with ai_edge_litert's interpreter (one thread, one image per call):

    float32 baseline | pruned 50% | pruned 80% (TF-MOT, PolynomialDecay + fine-tune) |
    QAT int8 (TF-MOT) | PTQ dynamic | PTQ int8 (full integer, 200 calibration images) |
    PTQ float16 | pruned 80% + PTQ int8

Causal LM (byte-level, the built-in corpus): float32 baseline, the same model after the
fine-tune the pruned ones get (no pruning: the fair reference), and its Dense/Embedding
layers pruned to 50% and 80% by TF-MOT one layer at a time, then that masked fine-tune.
Size is the weights stored uncompressed (.npz), raw and gzipped; latency is one
`predict_on_batch` call on one sequence. Perplexity is measured on held-out windows.

Then the rows of `benchmarks/compression_extra.py` (Keras int8/int4 of the LM, distillation,
low rank, LoRA) are appended when that file is present.

Ratios are against the float32 baseline of the same model in the same run. Targets
(TF-MOT's published results): int8 >= 3.5x smaller than float32 with <= 1 point accuracy
loss on digits; 80% sparsity >= 3x smaller gzipped with <= 1 point loss. Timings on a
shared CPU are noisy.

Prints one JSON object.

Run:
    python benchmarks/compression.py            # several minutes on 2 CPU cores
    python benchmarks/compression.py --quick    # tiny sizes, to check that it runs
"""

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FULL = dict(
    cnn_epochs=15,
    prune_epochs=6,
    qat_epochs=2,
    calibration=200,
    latency_repeats=200,
    lm_steps=400,
    lm_fine_tune_steps=150,
    lm_seq_len=64,
    lm_limit=200_000,
)
QUICK = dict(
    cnn_epochs=2,
    prune_epochs=1,
    qat_epochs=1,
    calibration=32,
    latency_repeats=20,
    lm_steps=20,
    lm_fine_tune_steps=5,
    lm_seq_len=32,
    lm_limit=20_000,
)
TARGETS = {
    "int8_size_ratio": 3.5,
    "int8_max_accuracy_loss_points": 1.0,
    "sparsity80_gzip_ratio": 3.0,
    "sparsity80_max_accuracy_loss_points": 1.0,
}


def log(message):
    print(f"[compression] {message}", file=sys.stderr, flush=True)


def row(model, technique, metric_name, metric, sizes, latency_ms, note=""):
    return {
        "model": model,
        "technique": technique,
        "metric_name": metric_name,
        "metric": metric,
        "size_bytes": sizes["raw_bytes"],
        "gzip_bytes": sizes["gzip_bytes"],
        "latency_ms": latency_ms,
        "note": note,
    }


def cnn_rows(settings, seed=0):
    from zoo.compress import prune, ptq, qat, workloads
    from zoo.compress.sizes import bytes_size

    log(f"training the CNN on digits ({settings['cnn_epochs']} epochs)")
    model, (x, y), (x_test, y_test) = workloads.trained_cnn(epochs=settings["cnn_epochs"], seed=seed)
    calibration = x[: settings["calibration"]]

    def tflite_row(technique, content, note=""):
        tflite = ptq.TFLiteModel(content)
        return row(
            "cnn",
            technique,
            "accuracy",
            tflite.evaluate(x_test, y_test)["accuracy"],
            bytes_size(content),
            tflite.latency_ms(x_test, repeats=settings["latency_repeats"]),
            note,
        )

    rows = [tflite_row("float32", ptq.quantize_tflite(model, "float32"), "TFLite float32 (baseline)")]
    pruned = {}
    for sparsity in (0.5, 0.8):
        log(f"pruning to {sparsity:.0%} ({settings['prune_epochs']} fine-tuning epochs)")
        result = prune.prune_model(
            model, x, y, target_sparsity=sparsity, schedule="polynomial", epochs=settings["prune_epochs"]
        )
        pruned[sparsity] = result
        rows.append(
            tflite_row(
                f"pruned {sparsity:.0%}",
                ptq.quantize_tflite(result.tf_keras_model, "float32"),
                f"TF-MOT PolynomialDecay, measured sparsity {result.overall_sparsity:.3f}",
            )
        )
    log(f"quantization-aware training ({settings['qat_epochs']} epochs)")
    qat_result = qat.quantize_aware_train(model, x, y, epochs=settings["qat_epochs"])
    rows.append(tflite_row("QAT int8", qat.qat_tflite(qat_result.tf_keras_model), "TF-MOT quantize_model"))
    for mode, note in (
        ("dynamic", "int8 weights, float activations"),
        ("int8", f"full integer, {len(calibration)} calibration images"),
        ("float16", "float16 weights"),
    ):
        log(f"post-training quantization: {mode}")
        rows.append(tflite_row(f"PTQ {mode}", ptq.quantize_tflite(model, mode, representative_data=calibration), note))
    log("pruned 80% + PTQ int8")
    rows.append(
        tflite_row(
            "pruned 80% + int8",
            ptq.quantize_tflite(pruned[0.8].tf_keras_model, "int8", representative_data=calibration),
            "TF-MOT pruning, then full-integer PTQ",
        )
    )
    return rows


def lm_rows(settings, seed=0):
    from zoo.compress import prune, workloads
    from zoo.compress.sizes import keras_weights_size

    log(f"training the byte-level causal LM ({settings['lm_steps']} steps)")
    model, train, test = workloads.trained_lm(
        steps=settings["lm_steps"], seq_len=settings["lm_seq_len"], limit=settings["lm_limit"], seed=seed
    )
    example = {k: v[:1] for k, v in test[0].items()}
    weights = model.get_weights()

    def lm_row(technique, note=""):
        return row(
            "causal_lm",
            technique,
            "perplexity",
            workloads.perplexity(model, test),
            keras_weights_size(model),
            workloads.keras_latency_ms(model, example),
            note,
        )

    rows = [lm_row("float32", "Keras 3 weights (.npz)")]
    # The pruned models get a fine-tune; the same fine-tune without pruning shows what it alone is worth.
    model.compile(learning_rate=1e-3)
    workloads.lm_fine_tune(model, train, settings["lm_fine_tune_steps"], seed=seed)
    rows.append(
        lm_row(
            "same fine-tune, no pruning",
            f"float32, {settings['lm_fine_tune_steps']} more steps: the reference for the pruned rows",
        )
    )
    for sparsity in (0.5, 0.8):
        model.set_weights(weights)
        model.compile(learning_rate=1e-3)  # a fresh optimizer for each fine-tune
        one_shot = prune.prune_layers_one_shot(model, sparsity)
        after_one_shot = workloads.perplexity(model, test)
        log(f"LM pruned to {sparsity:.0%}; masked fine-tune ({settings['lm_fine_tune_steps']} steps)")
        workloads.lm_fine_tune(
            model, train, settings["lm_fine_tune_steps"], seed=seed, callbacks=[prune.MaskKeeper(one_shot.masks)]
        )
        measured, _ = prune.pruned_sparsity(model, one_shot.pruned)
        rows.append(
            lm_row(
                f"pruned {sparsity:.0%}",
                f"TF-MOT one shot per Dense/Embedding layer (sparsity {measured:.3f}; perplexity right after "
                f"pruning {after_one_shot:.2f}), then masked fine-tune; skipped: {len(one_shot.skipped)} layers "
                f"({', '.join(sorted({s.split('(')[1].rstrip(')') for s in one_shot.skipped}))})",
            )
        )
    return rows


def add_ratios(rows):
    """Ratios of each row against the float32 row of the same model."""
    base = {r["model"]: r for r in rows if r["technique"].startswith("float32")}
    for r in rows:
        ref = base.get(r["model"])
        if ref is None:
            continue
        r["size_ratio"] = ref["size_bytes"] / r["size_bytes"] if r["size_bytes"] else None
        r["gzip_ratio"] = ref["gzip_bytes"] / r["gzip_bytes"] if r["gzip_bytes"] else None
        r["latency_ratio"] = r["latency_ms"] / ref["latency_ms"] if ref["latency_ms"] else None
        if r["metric_name"] == "accuracy":
            r["accuracy_change_points"] = (r["metric"] - ref["metric"]) * 100.0
        elif r["metric_name"] == "perplexity":
            r["perplexity_ratio"] = r["metric"] / ref["metric"]
    return rows


def check_targets(rows):
    def find(technique):
        return next((r for r in rows if r["model"] == "cnn" and r["technique"] == technique), None)

    report = {}
    for technique in ("PTQ int8", "QAT int8"):
        r = find(technique)
        if r is not None:
            report[technique] = {
                "size_ratio": round(r["size_ratio"], 2),
                "accuracy_change_points": round(r["accuracy_change_points"], 2),
                "met": r["size_ratio"] >= TARGETS["int8_size_ratio"]
                and -r["accuracy_change_points"] <= TARGETS["int8_max_accuracy_loss_points"],
            }
    r = find("pruned 80%")
    if r is not None:
        report["pruned 80%"] = {
            "gzip_ratio": round(r["gzip_ratio"], 2),
            "accuracy_change_points": round(r["accuracy_change_points"], 2),
            "met": r["gzip_ratio"] >= TARGETS["sparsity80_gzip_ratio"]
            and -r["accuracy_change_points"] <= TARGETS["sparsity80_max_accuracy_loss_points"],
        }
    return report


def extra_rows(quick):
    """Rows of benchmarks/compression_extra.py (Keras-native techniques), or a note that it is missing."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compression_extra.py")
    if not os.path.isfile(path):
        return [], "benchmarks/compression_extra.py is not present"
    spec = importlib.util.spec_from_file_location("compression_extra", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.rows(quick)), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the benchmark runs")
    parser.add_argument("--no-extra", action="store_true", help="leave out benchmarks/compression_extra.py's rows")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    warnings.filterwarnings("ignore")
    start = time.time()
    rows = cnn_rows(settings, args.seed) + lm_rows(settings, args.seed)
    add_ratios(rows)
    report = {
        "benchmark": "compression",
        "quick": args.quick,
        "settings": settings,
        "machine": {"python": platform.python_version(), "processor": platform.machine(), "cpus": os.cpu_count()},
        "targets": TARGETS,
        "targets_met": check_targets(rows),
        "rows": rows,
    }
    if not args.no_extra:
        log("rows of benchmarks/compression_extra.py")
        try:
            extra, missing = extra_rows(args.quick)
        except Exception as err:  # keep the rows measured above even when the other benchmark fails
            extra, missing = [], f"benchmarks/compression_extra.py failed: {type(err).__name__}: {err}"
        report["extra_rows"] = add_ratios(extra) if extra else extra
        if missing:
            report["extra_rows_missing"] = missing
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
