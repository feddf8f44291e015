"""Benchmark: what mixed precision, remat and gradient accumulation cost and save, measured in one run.

Each configuration trains the `small` causal preset with model.fit on random
token ids in a fresh process, so that its peak memory is its own: the peak
resident set size (ru_maxrss) during fit minus the resident size just before
fit (weights, TensorFlow itself) is the memory that training adds. Speed is
tokens per second over the timed steps, after untimed warm-up steps (tracing).

Comparisons, each a ratio against a reference measured in the same run:
    precision     float32 vs mixed_bfloat16 vs mixed_float16 (tokens/s, peak memory)
    remat         off vs on at a long sequence, where activations dominate
                  (target: >= 40% less peak memory for <= 40% slower steps)
    accumulation  4 micro-batches of b vs one batch of 4b (tokens/s overhead)

Prints one JSON object.

Run:
    python benchmarks/training_techniques.py            # a few minutes on 2 CPU cores
    python benchmarks/training_techniques.py --quick    # tiny sizes, to check that it runs
"""

import argparse
import json
import os
import subprocess
import sys
import time

WARMUP_STEPS = 2


def resident_kib():
    """The current resident set size in KiB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status: this benchmark measures memory on Linux only")


def worker(spec):
    """Train one configuration; return its measurements (run inside a fresh process)."""
    import resource

    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.llm import build_llm
    from zoo.train.optimizer import build_optimizer
    from zoo.train.precision import precision_scope, wrap_optimizer
    from zoo.train.remat import enable_remat

    keras.utils.set_random_seed(0)
    overrides = dict(spec.get("overrides", {}))
    with precision_scope(spec["precision"]):
        model = build_llm(
            "causal",
            spec["preset"],
            compile=False,
            dtype=spec["precision"],
            max_length=max(512, spec["seq_len"]),
            **overrides,
        )
    if spec["remat"]:
        enable_remat(model)
    model.compile(optimizer=wrap_optimizer(build_optimizer(1e-4, accum_steps=spec["accum_steps"]), spec["precision"]))
    vocab, batch, seq = model.llm_config.vocab_size, spec["batch_size"], spec["seq_len"]
    ids = np.random.default_rng(0).integers(7, vocab, (batch * 4, seq + 1)).astype("int32")
    data = (
        tf.data.Dataset.from_tensor_slices(
            ({"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:])
        )
        .batch(batch, drop_remainder=True)
        .repeat()
    )

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_index, logs=None):
            if batch_index == WARMUP_STEPS - 1:
                self.start = time.perf_counter()
            self.end = time.perf_counter()

    clock = Clock()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    resident = resident_kib()
    steps = WARMUP_STEPS + spec["steps"]
    history = model.fit(data, steps_per_epoch=steps, epochs=1, callbacks=[clock], verbose=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = clock.end - clock.start
    return {
        "tokens_per_second": spec["steps"] * batch * seq / seconds,
        "seconds_per_step": seconds / spec["steps"],
        "peak_training_mib": (max(peak, before) - resident) / 1024,
        "loss": float(history.history["loss"][-1]),
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
    }


def measure(spec):
    """Run `worker(spec)` in a fresh Python process and return its JSON result."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"configuration {spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the benchmark runs")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration (default: 3)")
    parser.add_argument(
        "--long-seq-len",
        type=int,
        default=1024,
        help="sequence length of the remat comparison, where activations dominate (default: 1024)",
    )
    parser.add_argument(
        "--only",
        choices=("all", "remat"),
        default="all",
        help="measure every technique, or only remat off vs on (default: all)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    preset, short, long, batch = ("tiny", 32, 128, 4) if args.quick else ("small", 128, args.long_seq_len, 8)
    base = dict(
        preset=preset,
        precision="float32",
        remat=False,
        accum_steps=1,
        steps=args.steps,
        seq_len=short,
        batch_size=batch,
    )
    # Dropout off: with remat the recomputed forward would draw other masks; speed is the question here.
    base["overrides"] = {"dropout": 0.0}
    configs = {
        "float32": base,
        "mixed_bfloat16": {**base, "precision": "mixed_bfloat16"},
        "mixed_float16": {**base, "precision": "mixed_float16"},
        "no_remat_long": {**base, "seq_len": long},
        "remat_long": {**base, "seq_len": long, "remat": True},
        "one_batch_4b": {**base, "batch_size": 4 * batch},
        "accum_4_of_b": {**base, "accum_steps": 4, "steps": 4 * args.steps},
    }
    if args.only == "remat":
        configs = {name: configs[name] for name in ("no_remat_long", "remat_long")}
    started = time.perf_counter()
    results = {}
    for name, spec in configs.items():
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results[name] = measure(spec)

    def ratio(a, b, key):
        if a not in results or b not in results:
            return None  # not measured in this run (--only)
        return round(results[a][key] / results[b][key], 3)

    remat_memory_cut = 1 - ratio("remat_long", "no_remat_long", "peak_training_mib")
    remat_slowdown = ratio("remat_long", "no_remat_long", "seconds_per_step") - 1
    report = {
        "benchmark": "training_techniques",
        "preset": preset,
        "settings": {"batch_size": batch, "short_seq_len": short, "long_seq_len": long, "timed_steps": args.steps},
        "results": {
            k: {m: round(v, 3) if isinstance(v, float) else v for m, v in r.items()} for k, r in results.items()
        },
        "ratios": {
            "bf16_vs_fp32_tokens_per_second": ratio("mixed_bfloat16", "float32", "tokens_per_second"),
            "fp16_vs_fp32_tokens_per_second": ratio("mixed_float16", "float32", "tokens_per_second"),
            "bf16_vs_fp32_peak_memory": ratio("mixed_bfloat16", "float32", "peak_training_mib"),
            "fp16_vs_fp32_peak_memory": ratio("mixed_float16", "float32", "peak_training_mib"),
            "remat_peak_memory_cut": round(remat_memory_cut, 3),
            "remat_step_slowdown": round(remat_slowdown, 3),
            "accumulation_vs_one_batch_tokens_per_second": ratio("accum_4_of_b", "one_batch_4b", "tokens_per_second"),
        },
        "remat_target_met": bool(remat_memory_cut >= 0.40 and remat_slowdown <= 0.40),
        "seconds": round(time.perf_counter() - started, 1),
        "device": next(iter(results.values()))["device"],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
