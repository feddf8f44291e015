"""Benchmark: Keras 3.15's quantization modes and QLoRA on a zoo causal LM, measured in one run.

A `tiny` causal LM is trained on the built-in corpus, then:

    quantization  float32 | int8 | int4 | float8 | GPTQ, Keras alone | GPTQ (4-bit) | AWQ (4-bit)
                  each: held-out perplexity, weight bytes (.npz of the variables, own dtypes),
                  CPU latency of one predict_on_batch (median of 10), seconds to quantize
    fine-tuning   LoRA | QLoRA on an int8 base | QLoRA on an int4 base
                  each: weight bytes in memory while training (frozen base + adapters),
                  held-out perplexity after the same steps on the same data

GPTQ/AWQ calibrate on training windows ("calibration_updates": input batches their hooks saw).
"gptq (Keras alone)" is Keras 3.15's `model.quantize("gptq")` without zoo's fixes (its hook never
fires, so it rounds to nearest). Ratios are against float32 / plain LoRA of the same run. Prints one
JSON object (`benchmarks/compression_llm_modes.json` holds the latest).

Run:
    python benchmarks/compression_llm_modes.py            # 2-10 minutes on 2 shared CPU cores
    python benchmarks/compression_llm_modes.py --quick    # tiny sizes, to check that it runs
"""

import argparse
import contextlib
import json
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FULL = dict(preset="tiny", steps=400, seq_len=64, batch_size=16, eval_windows=64, calibration=32, rank=8, lora_steps=60)
QUICK = dict(preset="tiny", steps=20, seq_len=32, batch_size=8, eval_windows=16, calibration=8, rank=4, lora_steps=5)
DATA = os.path.join("data", "corpus-builtin")


def log(message):
    print(message, file=sys.stderr)


@contextlib.contextmanager
def counting_calibration_updates():
    """{"updates": n}: how many input batches Keras' GPTQ/AWQ calibration hooks passed on while inside."""
    from keras.src.quantizers import awq, gptq

    counter = {"updates": 0}
    methods = [(gptq.GPTQ, "update_hessian_with_batch"), (awq.AWQ, "update_activation_magnitudes")]
    saved = [getattr(owner, name) for owner, name in methods]

    def counting(method):
        def update(self, batch):
            counter["updates"] += 1
            return method(self, batch)

        return update

    for (owner, name), method in zip(methods, saved):
        setattr(owner, name, counting(method))
    try:
        yield counter
    finally:
        for (owner, name), method in zip(methods, saved):
            setattr(owner, name, method)


# "gptq (Keras alone)": model.quantize("gptq") without zoo's two fixes (calibration hook, Cholesky error
# feedback); Keras 3.15's hook never fires there, so it is 4-bit groups of 128 rounded to nearest.
MODES = ("float32", "int8", "int4", "float8", "gptq (Keras alone)", "gptq", "awq")


def quantization_rows(s, float_path, train, held, batch):
    from benchmarks.compression_extra import weight_sizes
    from zoo.compress.keras_quantize import (
        calibration_config,
        latency_ms,
        perplexity,
        quantize_model,
        quantized_layers,
    )
    from zoo.llm import load_llm

    rows = []
    calibration = train[0][: s["calibration"]]
    for mode in MODES:
        log(f"quantization: {mode}")
        model = load_llm(float_path, compile=False)
        started = time.perf_counter()
        # GPTQ/AWQ draw a Keras progress bar on stdout, which holds the JSON only.
        with contextlib.redirect_stdout(sys.stderr), counting_calibration_updates() as counter:
            if mode == "gptq (Keras alone)":
                model.quantize("gptq", config=calibration_config(model, "gptq", calibration))
            elif mode != "float32":
                quantize_model(model, mode, calibration=calibration)
        seconds = time.perf_counter() - started
        size, gz = weight_sizes(model)
        rows.append(
            {
                "mode": mode,
                "perplexity": perplexity(model, *held),
                "size_bytes": size,
                "gzip_bytes": gz,
                "latency_ms": round(latency_ms(model, batch), 3),
                "quantize_seconds": round(seconds, 1),
                "quantized_layers": len(quantized_layers(model)),
                "calibration_updates": counter["updates"],
            }
        )
    base = rows[0]
    for r in rows:
        r["smaller_x"] = round(base["size_bytes"] / r["size_bytes"], 3)
        r["perplexity_ratio"] = round(r["perplexity"] / base["perplexity"], 4)
        r["latency_ratio"] = round(r["latency_ms"] / base["latency_ms"], 3)
    return rows


def lora_rows(s, float_path, tune, held, seed):
    from zoo.compress.keras_quantize import perplexity
    from zoo.compress.llm_source import fit_steps
    from zoo.compress.lora import enable_lora
    from zoo.llm import load_llm

    rows = []
    for base_quantize in (None, "int8", "int4"):
        name = f"QLoRA ({base_quantize} base)" if base_quantize else "LoRA (float32 base)"
        log(f"fine-tuning: {name}, {s['lora_steps']} steps")
        model = load_llm(float_path, compile=False)
        report = enable_lora(model, rank=s["rank"], base_quantize=base_quantize)
        before = perplexity(model, *held)
        model.compile(learning_rate=2e-3, weight_decay=0.0)
        started = time.perf_counter()
        fit_steps(model, tune, s["lora_steps"], s["batch_size"], seed, 0)
        rows.append(
            {
                "technique": name,
                "weight_bytes": report["weight_bytes"],
                "trainable_params": report["trainable_params"],
                "perplexity_before": before,
                "perplexity_after": perplexity(model, *held),
                "train_seconds": round(time.perf_counter() - started, 1),
            }
        )
    base = rows[0]
    for r in rows:
        r["memory_ratio"] = round(r["weight_bytes"] / base["weight_bytes"], 3)
        r["perplexity_ratio"] = round(r["perplexity_after"] / base["perplexity_after"], 4)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="Keras quantization modes and QLoRA on a zoo LM: one JSON object.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few steps, to check that it runs")
    args = parser.parse_args(argv)
    s = QUICK if args.quick else FULL
    import tempfile

    import keras
    import numpy as np

    from zoo.compress.keras_quantize import perplexity
    from zoo.compress.llm_source import lm_config, train_lm
    from zoo.data.corpus import corpus_windows

    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    keras.utils.set_random_seed(0)
    train, val, tokenizer = corpus_windows(DATA, s["seq_len"], s["batch_size"], seed=0)
    half = len(val[0]) // 2
    tune = (val[0][:half], val[1][:half])
    held = (val[0][half:][: s["eval_windows"]], val[1][half:][: s["eval_windows"]])
    batch = {"token_ids": held[0][:8], "padding_mask": np.ones_like(held[0][:8])}
    log(f"training the {s['preset']} LM for {s['steps']} steps")
    model, _ = train_lm(
        lm_config(s["preset"], tokenizer.vocabulary_size(), s["seq_len"]), train, s["steps"], s["batch_size"], verbose=0
    )
    folder = tempfile.mkdtemp(prefix="zoo-bench-modes-")
    float_path = os.path.join(folder, "float.keras")
    model.save(float_path)
    quant = quantization_rows(s, float_path, train, held, batch)
    lora = lora_rows(s, float_path, tune, held, 0)
    print(
        json.dumps(
            {
                "benchmark": "compression_llm_modes",
                "quick": args.quick,
                "keras": keras.__version__,
                "settings": s,
                "params": int(model.count_params()),
                "float_perplexity": perplexity(model, *held),
                "size": "bytes of the model's variables as one .npz (own dtypes, no optimizer state)",
                "latency": "median ms of one predict_on_batch of 8 windows, CPU, shared machine",
                "quantization": quant,
                "lora": lora,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
