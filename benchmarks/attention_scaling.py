"""How time and memory of each attention kind grow with sequence length, and what each costs in quality.

Prints one JSON object and writes a log-log plot (benchmarks/attention_scaling.png):
- `scaling`: for each kind and n (batch 1, width 256, 4 heads, causal), the median time of
  one forward + backward pass of the attention layer (gradients of the input and weights,
  in a tf.function) and its peak memory; `ratios_vs_full` divides full attention's numbers
  by each kind's at the same n (so 5.0 = five times faster / less memory).
- `reversible`: peak memory of forward + backward through a stack of transformer blocks
  (width 256, full attention) at several depths, standard vs reversible.
- `quality`: validation loss of the tiny causal LM trained `--quality-steps` steps with each
  kind on the built-in corpus (windows of 128 tokens; the kinds are scaled down so their
  approximation bites: window 32, blocks 16, rows of 16, LSH chunks 16 with 8 buckets).
- `targets`: the issue's targets (sliding window w=256 at n=8192 >= 5x faster and >= 5x less
  peak memory than full; reversible memory flat in depth) and whether they were met.

Peak memory: each kind (and each stack type) runs in a fresh subprocess, its cases in
ascending size. The worker builds the layer, reads its resident set size (RSS,
/proc/self/statm) before the first case, and after each case reports the process's peak
RSS (getrusage ru_maxrss) minus that baseline. TensorFlow's CPU allocations live in the
process heap, so the peak RSS sees them (tracemalloc does not, and
tf.config.experimental.get_memory_info has no CPU device). Because the cases grow, the
peak after case k is case k's own peak (freed memory of smaller cases is reused); a
fresh process per kind keeps one kind's peak from hiding another's. Timings on a shared
machine are noisy: compare ratios.

Example:
    $ python benchmarks/attention_scaling.py --quick        # n = 512..2048, 30 quality steps
    $ python benchmarks/attention_scaling.py                # n = 512..8192, 300 quality steps
    $ python benchmarks/attention_scaling.py --quality-only benchmarks/attention_scaling.json  # training runs only
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

WIDTH, HEADS = 256, 4
# The settings of each kind in the scaling runs (the sliding window is w = 256).
SCALING_KINDS = {
    "full": {},
    "sliding_window": dict(window=256, block_size=64),
    "block_sparse": dict(block_size=64, local_blocks=1, global_blocks=1),
    "axial": dict(row_length=64),
    "lsh": dict(chunk_size=64, num_buckets=16, num_hashes=2),
}
# Quality runs: windows of 128 tokens, so the kinds must be narrower than that to differ.
QUALITY_FIELDS = {
    "full": {},
    "sliding_window": dict(attention_options=dict(window=32, block_size=16)),
    "block_sparse": dict(attention_options=dict(block_size=16, local_blocks=1, global_blocks=1)),
    "axial": dict(attention_options=dict(row_length=16)),
    "lsh": dict(attention_options=dict(chunk_size=16, num_buckets=8, num_hashes=2)),
    "full+reversible": dict(reversible=True),
}
DEFAULT_PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention_scaling.png")


def resident_kib():
    """Current resident set size of this process in KiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_cases(spec):
    """Worker: the cases of one kind (or stack type), ascending, in this fresh process; a dict per case."""
    import numpy as np

    if spec["what"] == "attention":
        from zoo.llm.attention import get_attention_class

        layer = get_attention_class(spec["kind"])(HEADS, WIDTH // HEADS, causal=True, **SCALING_KINDS[spec["kind"]])
        layer(np.zeros((1, 8, WIDTH), "float32"))
        weights = layer.trainable_weights
        forward = layer
        cases = [(str(n), n) for n in spec["lengths"]]
    else:  # stacks of blocks, standard or reversible, one depth per case
        from zoo.llm.layers.blocks import TransformerBlock
        from zoo.llm.layers.reversible import ReversibleStack

        cases = [(str(depth), spec["n"]) for depth in spec["depths"]]
    baseline = resident_kib()
    results = {}
    for name, n in cases:
        if spec["what"] != "attention":
            depth = int(name)
            blocks = [TransformerBlock(WIDTH, HEADS, 4 * WIDTH, causal=True, name=f"block_{i}") for i in range(depth)]
            if spec["reversible"]:
                forward = ReversibleStack(blocks)
            else:

                def forward(x, blocks=blocks):
                    for block in blocks:
                        x = block(x)
                    return x

            forward(np.zeros((1, 8, WIDTH), "float32"))
            weights = [w for block in blocks for w in block.trainable_weights]
        results[name] = _measure(forward, weights, n, spec["repeats"], spec["max_seconds"], baseline)
        print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    return results


def _measure(forward, weights, n, repeats, max_seconds, baseline):
    """Median seconds of one forward + backward pass at length n, and peak RSS above baseline."""
    import tensorflow as tf

    x = tf.random.normal((1, n, WIDTH))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(forward(x)))
        grads = tape.gradient(loss, [x] + weights)
        # Reduce to a scalar so the pass must finish but no large result is copied out.
        return tf.add_n([tf.reduce_sum(g) for g in grads])

    times = []
    start_all = time.perf_counter()
    for i in range(repeats + 1):
        start = time.perf_counter()
        float(step(x))
        if i:  # the first run traces, allocates and warms up
            times.append(time.perf_counter() - start)
        if i >= 2 and time.perf_counter() - start_all > max_seconds:
            break
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "seconds": round(statistics.median(times), 4),
        "peak_mib": round((peak - baseline) / 1024, 1),
        "runs": len(times),
    }


def in_subprocess(spec, timeout):
    """Run one case in a fresh Python process and parse its JSON line."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    for line in reversed(done.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}


def quality(kinds_fields, steps, seq_len=128, batch_size=16, eval_batches=20, log=print):
    """Validation loss of the tiny CLM trained `steps` steps with each kind (same data, seed, schedule)."""
    from pathlib import Path

    import keras
    import numpy as np

    from zoo.data.corpus import DEFAULT_DATA, clm_splits, ensure_corpus, training_stream, training_windows
    from zoo.llm import build_llm
    from zoo.llm.models.factory import resolve_config

    folder = ensure_corpus(Path(DEFAULT_DATA), log=log)
    train, validation, tokenizer = clm_splits(folder, seq_len, batch_size, 0.1, seed=0)
    inputs, labels = training_windows(train)
    # Validation windows as arrays, read once (the same windows for every kind).
    val_inputs, val_labels = training_windows(validation.take(eval_batches))
    val_x = {"token_ids": val_inputs, "padding_mask": np.ones_like(val_inputs)}
    base = resolve_config("tiny").replace(vocab_size=int(tokenizer.vocabulary_size()), max_length=seq_len)
    results = {}
    for name, fields in kinds_fields.items():
        keras.utils.set_random_seed(0)
        attention = name.split("+")[0]
        model = build_llm("causal", config=base.replace(attention=attention, **fields), compile=False)
        model.compile(
            optimizer=keras.optimizers.AdamW(3e-3, weight_decay=0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        start = time.perf_counter()
        history = model.fit(
            training_stream(inputs, labels, batch_size, seed=0), steps_per_epoch=steps, epochs=1, verbose=0
        )
        seconds = time.perf_counter() - start
        loss = float(model.evaluate(val_x, val_labels, batch_size=batch_size, verbose=0, return_dict=True)["loss"])
        results[name] = {
            "val_loss": round(loss, 4),
            "train_loss": round(float(history.history["loss"][-1]), 4),
            "seconds": round(seconds, 1),
        }
        log(f"quality {name}: val_loss {loss:.3f} ({seconds:.0f} s)")
    return results


def plot(scaling, lengths, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.data.atomic_files import write_bytes_atomic

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, rows in scaling.items():
        ns = [n for n in lengths if rows.get(str(n), {}).get("seconds")]
        axes[0].plot(ns, [rows[str(n)]["seconds"] for n in ns], marker="o", label=kind)
        ns = [n for n in lengths if rows.get(str(n), {}).get("peak_mib") is not None]
        axes[1].plot(ns, [max(rows[str(n)]["peak_mib"], 0.1) for n in ns], marker="o", label=kind)
    for ax, title in zip(axes, ("forward + backward time (s)", "peak memory (MiB)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length n")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle("Attention kinds: batch 1, width 256, 4 heads, causal (CPU)")
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def quality_section(steps, log):
    return {
        "steps": steps,
        "seq_len": 128,
        "batch": 16,
        "preset": "tiny",
        "fields": QUALITY_FIELDS,
        "measured": time.strftime("%Y-%m-%d"),
        "results": quality(QUALITY_FIELDS, steps, log=log),
    }


def update_quality(path, steps):
    """Rerun only the training runs and write them into an earlier output file (write, then rename)."""
    try:
        with open(path) as f:
            results = json.load(f)
    except (OSError, ValueError) as error:
        raise SystemExit(f"--quality-only needs this benchmark's earlier JSON output: cannot read {path} ({error})")
    results["quality"] = quality_section(steps, lambda message: print(message, file=sys.stderr, flush=True))
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w") as f:
        f.write(json.dumps(results, indent=2) + "\n")
    os.replace(temporary, path)
    print(json.dumps(results["quality"], indent=2))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 512..2048, depths 1-4, 30 quality steps")
    parser.add_argument("--lengths", type=int, nargs="+", help="sequence lengths (default 512 1024 2048 4096 8192)")
    parser.add_argument("--kinds", nargs="+", choices=sorted(SCALING_KINDS), default=list(SCALING_KINDS))
    parser.add_argument("--quality-steps", type=int, default=None, help="training steps per kind (default 300)")
    parser.add_argument("--no-quality", action="store_true", help="skip the training runs")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument("--plot", default=DEFAULT_PLOT, help=f"PNG to write (default {DEFAULT_PLOT})")
    parser.add_argument(
        "--quality-only",
        metavar="JSON",
        help="run only the training runs and replace the `quality` section of this earlier output file",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_cases(json.loads(args.worker))))
        return None
    if args.quality_only:
        return update_quality(args.quality_only, args.quality_steps or (30 if args.quick else 300))

    lengths = args.lengths or ([512, 1024, 2048] if args.quick else [512, 1024, 2048, 4096, 8192])
    if any(n < 8 for n in lengths):
        parser.error("--lengths must be >= 8")
    steps = args.quality_steps or (30 if args.quick else 300)
    depths = [1, 2, 4] if args.quick else [1, 2, 4, 8]
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731

    scaling = {}
    for kind in args.kinds:
        spec = {
            "what": "attention",
            "kind": kind,
            "lengths": sorted(lengths),
            "repeats": args.repeats,
            "max_seconds": 40,
        }
        result = in_subprocess(spec, timeout=1200)
        scaling[kind] = result if "error" not in result else {str(n): result for n in lengths}
        log(f"{kind}: {scaling[kind]}")
    ratios = {}
    for kind in args.kinds:
        if kind == "full" or "full" not in scaling:
            continue
        ratios[kind] = {}
        for n in lengths:
            full, other = scaling["full"][str(n)], scaling[kind][str(n)]
            if full.get("seconds") and other.get("seconds") and other.get("peak_mib"):
                ratios[kind][str(n)] = {
                    "speedup": round(full["seconds"] / other["seconds"], 2),
                    "memory_saving": round(full["peak_mib"] / max(other["peak_mib"], 0.1), 2),
                }

    depth_n = 1024
    reversible = {"n": depth_n, "standard": {}, "reversible": {}}
    for name in ("standard", "reversible"):
        spec = {
            "what": "stack",
            "depths": depths,
            "reversible": name == "reversible",
            "n": depth_n,
            "repeats": 1,
            "max_seconds": 20,
        }
        result = in_subprocess(spec, timeout=1200)
        reversible[name] = result if "error" not in result else {str(d): result for d in depths}
        log(f"{name}: {reversible[name]}")

    results = {
        "benchmark": "attention_scaling",
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "note": "CPU, shared machine: times are noisy; peak memory = peak RSS of a fresh process minus RSS before the run",
        "settings": {"batch": 1, "width": WIDTH, "heads": HEADS, "causal": True, "kinds": SCALING_KINDS},
        "scaling": scaling,
        "ratios_vs_full": ratios,
        "reversible": reversible,
    }
    if not args.no_quality:
        results["quality"] = quality_section(steps, log)

    targets = {}
    top = str(max(lengths))
    if "sliding_window" in ratios and top in ratios["sliding_window"]:
        r = ratios["sliding_window"][top]
        targets[f"sliding_window_vs_full_at_n{top}"] = {**r, "met": r["speedup"] >= 5 and r["memory_saving"] >= 5}
    mems = [reversible["reversible"][str(d)].get("peak_mib") for d in depths]
    standard = [reversible["standard"][str(d)].get("peak_mib") for d in depths]
    if all(m is not None for m in mems + standard):
        # Flat: the deepest stack needs less than 1.5x the memory of one block (standard grows ~linearly).
        targets["reversible_memory_flat_in_depth"] = {
            "reversible_mib": mems,
            "standard_mib": standard,
            "depths": depths,
            "met": mems[-1] <= 1.5 * max(mems[0], 1.0),
        }
    results["targets"] = targets
    plot(scaling, lengths, args.plot)
    results["plot"] = os.path.relpath(args.plot)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
