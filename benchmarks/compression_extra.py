"""Benchmark: Keras-native compression of zoo models, measured in one run.

For the causal LM on the built-in corpus (a `tiny` teacher trained here; `--teacher-preset small`
with enough `--teacher-steps` for a larger one) and
for the tutorial CNN on digits, each row is one compressed model with its
quality metric (held-out perplexity, or test accuracy), the size of its
variables written as one .npz (each in its own dtype, so int8 stays one byte;
raw and gzipped; no optimizer state; the same format for every row) and the CPU latency of one predict_on_batch call (median of 10):

    LLM  float32 baseline | int8 (model.quantize) | int4 | distilled student |
         the same student from scratch | low-rank feed-forward (+ fine-tune) |
         LoRA fine-tune (adapters merged)
    CNN  float32 baseline | distilled student | scratch student | low-rank Dense (+ fine-tune)

Ratios against the float32 baseline of the same run are in "ratios". All LLM
rows are scored on the same held-out windows (the second half of the held-out
documents; LoRA fine-tunes on the first half). Timings on a shared CPU are noisy.

`rows(quick)` is what `benchmarks/compression.py` imports; run alone, this
prints one JSON object.

Run:
    python benchmarks/compression_extra.py            # several minutes on 2 CPU cores
    python benchmarks/compression_extra.py --quick    # tiny sizes, to check that it runs
"""

import argparse
import gzip
import io
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The teacher must beat the student for distillation to mean anything: in a first run the `small`
# preset after 300 CPU steps (perplexity 158) was worse than a `tiny` model trained as long (103),
# so the teacher here is `tiny` trained longer and the student a one-block model of width 32.
FULL = dict(
    teacher_preset="tiny",
    teacher_steps=800,
    seq_len=64,
    batch_size=16,
    student_preset="tiny",
    student_overrides=dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=128),
    student_steps=300,
    eval_windows=128,
    lora_rank=8,
    lora_steps=100,
    low_rank_steps=100,
    cnn_teacher_epochs=20,
    cnn_student_epochs=10,
    cnn_fine_tune_epochs=2,
    cnn_rank=8,
)
QUICK = dict(
    teacher_preset="tiny",
    teacher_steps=40,
    seq_len=32,
    batch_size=8,
    student_preset="tiny",
    student_overrides=dict(num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64),
    student_steps=30,
    eval_windows=16,
    lora_rank=4,
    lora_steps=10,
    low_rank_steps=10,
    cnn_teacher_epochs=2,
    cnn_student_epochs=2,
    cnn_fine_tune_epochs=1,
    cnn_rank=8,
)
# The CNN's 10 classes need a high temperature to show their small probabilities; over an LM's
# vocabulary a high temperature flattens the teacher towards uniform, so T = 2 there (DistilBERT's choice).
CNN_TEMPERATURE, CNN_ALPHA = 4.0, 0.3
LLM_TEMPERATURE, LLM_ALPHA = 2.0, 0.5
DATA = os.path.join("data", "corpus-builtin")


def weight_sizes(model):
    """(raw, gzip) bytes of the model's variables written as one .npz, each in its own dtype.

    Not `save_weights`: Keras writes a compiled model's optimizer state into that file
    too (twice the weights for Adam), which would make trained rows look bigger.
    """
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(v.numpy()) for v in model.weights])
    data = buffer.getvalue()
    return len(data), len(gzip.compress(data, compresslevel=9))


def row(model_name, technique, metric_name, metric, model, batch, note=""):
    from zoo.compress.keras_quantize import latency_ms

    size, gz = weight_sizes(model)
    return {
        "model": model_name,
        "technique": technique,
        "metric_name": metric_name,
        "metric": float(metric),
        "size_bytes": int(size),
        "gzip_bytes": int(gz),
        "latency_ms": round(latency_ms(model, batch), 3),
        "note": note,
    }


def llm_rows(settings, data=DATA, seed=0, log=print):
    """Rows for the causal LM: float32, int8, int4, distilled vs scratch student, low-rank, LoRA."""
    import keras
    import numpy as np

    from zoo.compress.distill import compare_with_scratch
    from zoo.compress.keras_quantize import perplexity, quantize_model
    from zoo.compress.llm_source import fit_steps, lm_config, train_lm
    from zoo.compress.lora import enable_lora, merged_model
    from zoo.compress.low_rank import factorize_llm
    from zoo.data.corpus import corpus_windows
    from zoo.llm import build_llm, load_llm

    s = settings
    keras.utils.set_random_seed(seed)
    train, val, tokenizer = corpus_windows(data, s["seq_len"], s["batch_size"], seed=seed)
    half = len(val[0]) // 2
    tune = (val[0][:half], val[1][:half])
    held = (val[0][half:][: s["eval_windows"]], val[1][half:][: s["eval_windows"]])
    batch = {"token_ids": held[0][:8], "padding_mask": np.ones_like(held[0][:8])}
    vocab = tokenizer.vocabulary_size()
    name = f"causal LM ({s['teacher_preset']})"
    metric = "perplexity"

    log(f"LLM: training the {s['teacher_preset']} teacher for {s['teacher_steps']} steps")
    teacher, _ = train_lm(
        lm_config(s["teacher_preset"], vocab, s["seq_len"]),
        train,
        s["teacher_steps"],
        s["batch_size"],
        seed=seed,
        verbose=0,
    )
    folder = tempfile.mkdtemp(prefix="zoo-bench-llm-")
    try:
        float_path = os.path.join(folder, "float.keras")
        teacher.save(float_path)
        rows = [
            row(
                name,
                "float32 baseline",
                metric,
                perplexity(teacher, *held),
                teacher,
                batch,
                f"{teacher.count_params():,} params, {s['teacher_steps']} steps",
            )
        ]
        for mode in ("int8", "int4"):
            quantized = load_llm(float_path, compile=False)
            report = quantize_model(quantized, mode)
            rows.append(
                row(
                    name,
                    f"{mode} (Keras quantize)",
                    metric,
                    perplexity(quantized, *held),
                    quantized,
                    batch,
                    f"{len(report['quantized'])} layers quantized, {len(report['kept_float'])} kept float",
                )
            )

        log(f"LLM: distilling into a {s['student_preset']} student, and the same student from scratch")
        student_config = lm_config(s["student_preset"], vocab, s["seq_len"], **s["student_overrides"])
        result = compare_with_scratch(
            teacher,
            lambda: build_llm("causal", config=student_config, compile=False),
            lambda model, callbacks: fit_steps(model, train, s["student_steps"], s["batch_size"], seed, 0, callbacks),
            lambda model: perplexity(model, *held),
            lambda: {"optimizer": keras.optimizers.AdamW(3e-3, weight_decay=0.01)},
            alpha=LLM_ALPHA,
            temperature=LLM_TEMPERATURE,
            from_logits=True,
        )
        params = f"{result['student_params']:,} params, {s['student_steps']} steps"
        rows.append(
            row(
                name,
                "distilled student",
                metric,
                result["distilled"],
                result["distilled_model"],
                batch,
                f"{s['student_preset']} student, T={LLM_TEMPERATURE}, alpha={LLM_ALPHA}, {params}",
            )
        )
        rows.append(
            row(
                name,
                "scratch student",
                metric,
                result["scratch"],
                result["scratch_model"],
                batch,
                f"same student and init, labels only, {params}",
            )
        )

        log("LLM: low-rank feed-forward layers, then a short fine-tune")
        factored = load_llm(float_path, compile=False)
        rank = max(1, factored.llm_config.hidden_dim // 4)
        report = factorize_llm(factored, rank=rank)
        cut = perplexity(factored, *held)
        factored.compile(learning_rate=1e-3, weight_decay=0.0)
        fit_steps(factored, train, s["low_rank_steps"], s["batch_size"], seed, 0)
        rows.append(
            row(
                name,
                "low-rank FFN (SVD + fine-tune)",
                metric,
                perplexity(factored, *held),
                factored,
                batch,
                f"rank {rank} on ffn_in/ffn_out, {report['params_before']:,} -> {report['params_after']:,} "
                f"params; {cut:.2f} right after the cut, {s['low_rank_steps']} fine-tune steps",
            )
        )

        log(f"LLM: LoRA rank {s['lora_rank']} fine-tune on held-out documents")
        adapted = load_llm(float_path, compile=False)
        report = enable_lora(adapted, rank=s["lora_rank"])
        adapted.compile(learning_rate=2e-3, weight_decay=0.0)
        fit_steps(adapted, tune, s["lora_steps"], s["batch_size"], seed, 0)
        merged = merged_model(adapted)
        rows.append(
            row(
                name,
                "LoRA fine-tune (merged)",
                metric,
                perplexity(merged, *held),
                merged,
                batch,
                f"rank {s['lora_rank']}, {report['trainable_params']:,} trainable of "
                f"{report['total_params']:,} ({100 * report['trainable_share']:.1f}%), "
                f"{s['lora_steps']} steps on the other held-out half",
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def cnn_rows(settings, seed=0, log=print):
    """Rows for the tutorial CNN on digits: float32, distilled vs scratch student, low-rank Dense."""
    import keras
    import numpy as np

    from zoo.compress.distill import compare_with_scratch, student_cnn
    from zoo.compress.low_rank import factorize_model
    from zoo.data.digits import load_digits_28
    from zoo.vision.cnn import build_cnn

    s = settings
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits_28(seed=seed)
    batch = x_test[:32]
    name, metric = "CNN (digits)", "accuracy"

    def accuracy(model):
        return float((np.argmax(model.predict(x_test, verbose=0), axis=-1) == y_test).mean())

    log(f"CNN: training the tutorial CNN for {s['cnn_teacher_epochs']} epochs")
    teacher = build_cnn()
    teacher.fit(x_train, y_train, epochs=s["cnn_teacher_epochs"], batch_size=32, verbose=0)
    rows = [
        row(
            name,
            "float32 baseline",
            metric,
            accuracy(teacher),
            teacher,
            batch,
            f"{teacher.count_params():,} params, {s['cnn_teacher_epochs']} epochs",
        )
    ]

    log("CNN: distilled student and scratch student")
    epochs = s["cnn_student_epochs"]
    result = compare_with_scratch(
        teacher,
        lambda: student_cnn(compile=False),
        lambda model, callbacks: model.fit(
            x_train, y_train, epochs=epochs, batch_size=32, verbose=0, callbacks=callbacks
        ),
        accuracy,
        lambda: {"optimizer": keras.optimizers.Adam(1e-3), "metrics": ["accuracy"]},
        alpha=CNN_ALPHA,
        temperature=CNN_TEMPERATURE,
        from_logits=False,
    )
    params = f"{result['student_params']:,} params, {epochs} epochs"
    rows.append(
        row(
            name,
            "distilled student",
            metric,
            result["distilled"],
            result["distilled_model"],
            batch,
            f"T={CNN_TEMPERATURE}, alpha={CNN_ALPHA}, {params}",
        )
    )
    rows.append(
        row(
            name,
            "scratch student",
            metric,
            result["scratch"],
            result["scratch_model"],
            batch,
            f"same student and init, labels only, {params}",
        )
    )

    log(f"CNN: low-rank Dense (rank {s['cnn_rank']}), then fine-tune")
    factored, report = factorize_model(teacher, rank=s["cnn_rank"], layer_names=["dense"])
    cut = accuracy(factored)
    factored.compile(optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy")
    factored.fit(x_train, y_train, epochs=s["cnn_fine_tune_epochs"], batch_size=32, verbose=0)
    info = report["layers"]["dense"]
    rows.append(
        row(
            name,
            "low-rank Dense (SVD + fine-tune)",
            metric,
            accuracy(factored),
            factored,
            batch,
            f"rank {info['rank']} on the {info['shape'][0]}x{info['shape'][1]} Dense, "
            f"{report['params_before']:,} -> {report['params_after']:,} params; {cut:.4f} right after the cut",
        )
    )
    return rows


def rows(quick: bool, **overrides) -> list:
    """All rows (LLM, then CNN), measured in this process; see the module docstring.

    overrides: FULL/QUICK settings to change, e.g. teacher_preset="small", teacher_steps=2000.
    """
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    warnings.filterwarnings("ignore", message=".*does not have a `quantize` method.*")
    settings = {**(QUICK if quick else FULL), **overrides}
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731  (stdout holds the JSON only)
    return llm_rows(settings, log=log) + cnn_rows(settings, log=log)


def ratios(table):
    """Each row's size, gzip size, latency and metric against the float32 baseline of its model."""
    baselines = {r["model"]: r for r in table if r["technique"] == "float32 baseline"}
    out = []
    for r in table:
        base = baselines[r["model"]]
        out.append(
            {
                "model": r["model"],
                "technique": r["technique"],
                "smaller_x": round(base["size_bytes"] / r["size_bytes"], 3),
                "gzip_smaller_x": round(base["gzip_bytes"] / r["gzip_bytes"], 3),
                "latency_ratio": round(r["latency_ms"] / base["latency_ms"], 3),
                "metric_ratio": round(r["metric"] / base["metric"], 4),
            }
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Keras-native compression of zoo models (quantize, distill, low rank, LoRA): one JSON object."
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few steps, to check that it runs")
    parser.add_argument("--teacher-preset", default=None, help="LLM teacher preset (default: tiny; quick: tiny)")
    parser.add_argument("--teacher-steps", type=int, default=None, help="LLM teacher training steps (default: 800)")
    args = parser.parse_args(argv)
    overrides = {
        k: v
        for k, v in (("teacher_preset", args.teacher_preset), ("teacher_steps", args.teacher_steps))
        if v is not None
    }
    import keras

    started = time.perf_counter()
    table = rows(args.quick, **overrides)
    distilled = {r["model"]: r for r in table if r["technique"] == "distilled student"}
    scratch = {r["model"]: r for r in table if r["technique"] == "scratch student"}
    target = {}
    for model, r in distilled.items():
        better_high = r["metric_name"] == "accuracy"
        ok = r["metric"] >= scratch[model]["metric"] if better_high else r["metric"] <= scratch[model]["metric"]
        target[model] = {
            "distilled": r["metric"],
            "scratch": scratch[model]["metric"],
            "distilled_at_least_as_good": ok,
        }
    print(
        json.dumps(
            {
                "benchmark": "compression_extra",
                "quick": args.quick,
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "size": "bytes of the model's variables as one .npz (own dtypes, no optimizer state), raw and gzip -9",
                "latency": "median ms of one predict_on_batch (LLM: 8 windows; CNN: 32 images), CPU, shared machine",
                "settings": {**(QUICK if args.quick else FULL), **overrides},
                "rows": table,
                "ratios": ratios(table),
                "distillation_target": target,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
