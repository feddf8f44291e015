"""Where one training step of zoo's causal LM spends its time: TensorFlow profiler ops summed by class.

Builds the model exactly as `llm_train_throughput.py` does (same preset, batch,
optimizer, loss), runs warm-up steps, traces `--steps` steps with the TensorFlow
profiler and reads the trace (`*.xplane.pb`) back. Each op's time is the wall time
it ran, split evenly among the ops that ran at the same moment (TensorFlow runs
independent ops side by side on the inter-op threads, so plain durations add up to
more than the step). Op time is then summed by op type and by class: matmul (the LM
head apart), the loss, attention, dropout, LayerNorm, GELU, the optimizer and the
rest; the classes come from op types and the layer scope in the op's name.

Prints one JSON object: step wall time, the per-class and per-op-type totals (ms
per step and share of op time), and the op time each class would save at the
matmul rate (what an MFU gap is made of).

Example:
    $ python benchmarks/llm_train_profile.py --preset small --seq-len 128 --batch-size 32
    $ python benchmarks/llm_train_profile.py --xla on     # XLA: the fused clusters show as one op each
"""

import argparse
import collections
import glob
import json
import os
import re
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
from llm_train_throughput import compile_like_zoo, training_batch  # noqa: E402

from zoo.llm import build_llm, get_preset  # noqa: E402

MATMUL_TYPES = ("MatMul", "BatchMatMul", "Einsum", "Conv")
# Class by the layer scope in the op's name, first match wins; then by op type.
SCOPE_CLASSES = (
    ("optimizer", re.compile(r"(^|/)adam_?w/|(^|/)AdamW|(^|/)optimizer/")),
    ("loss", re.compile(r"compile_loss|sparse_categorical|SoftmaxCrossEntropy")),
    ("dropout", re.compile(r"dropout")),
    ("layernorm", re.compile(r"_norm(_\d+)?/|layer_normalization")),
    ("gelu", re.compile(r"/Gelu/|/gelu/|Erf")),
    ("embedding", re.compile(r"embedding")),
    ("attention", re.compile(r"self_attention")),
)


def classify(name, op_type):
    """The class of one op: `matmul (LM head)`, `matmul`, or a class from its scope, else `other`."""
    if any(t in op_type for t in MATMUL_TYPES):
        return "matmul (LM head)" if "token_embedding" in name else "matmul"
    if op_type in ("Transpose", "_MklTranspose"):
        return "transpose"
    for label, pattern in SCOPE_CLASSES:
        if pattern.search(name):
            return label
    return "other"


def leaf_events(xspace):
    """(start_ps, end_ps, name, op_type) of every TensorFlow op the executor ran on the host."""
    events = []
    for plane in xspace.planes:
        meta = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute") and "Eigen" not in line.name:
                continue
            for event in line.events:
                m = meta[event.metadata_id]
                # Op events are named "scope/name:OpType"; executor and threadpool markers are not.
                if ":" not in m.name or not m.display_name:
                    continue
                start = line.timestamp_ns * 1000 + event.offset_ps
                events.append((start, start + event.duration_ps, m.name.rsplit(":", 1)[0], m.display_name))
    return events


def shared_time(events):
    """Each event's wall time divided among the events running at the same moment (sweep over the edges)."""
    edges = sorted(
        [(s, 1, i) for i, (s, *_rest) in enumerate(events)] + [(e, -1, i) for i, (_s, e, *_r) in enumerate(events)]
    )
    share = [0.0] * len(events)
    running = set()
    last = None
    for t, kind, i in edges:
        if running and last is not None and t > last:
            part = (t - last) / len(running)
            for j in running:
                share[j] += part
        last = t
        if kind == 1:
            running.add(i)
        else:
            running.discard(i)
    busy = sum(share)
    return share, busy


def profile(model, x, y, steps, warmup):
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    for _ in range(warmup):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    step_ms = (time.perf_counter() - start) / steps * 1e3
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        traced = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        traced_ms = (time.perf_counter() - traced) / steps * 1e3
        tf.profiler.experimental.stop()
        path = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1]
        xspace = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            xspace.ParseFromString(f.read())
    return step_ms, traced_ms, leaf_events(xspace)


def summarize(events, steps, flops_per_step, step_ms, top=0):
    share, busy = shared_time(events)
    by_class, by_type, count = collections.Counter(), collections.Counter(), collections.Counter()
    by_scope = collections.Counter()
    for (_s, _e, name, op_type), t in zip(events, share):
        label = classify(name, op_type)
        by_class[label] += t
        by_type[op_type] += t
        count[op_type] += 1
        # Layers i of a stack are one entry: "block_3_1/ffn_in_1/..." -> "block_i/ffn_in/...".
        scope = re.sub(r"_\d+(?=/|$)", "", re.sub(r"block_\d+", "block_i", name))
        by_scope[f"{scope}:{op_type}"] += t
    to_ms = 1e-9 / steps
    busy_ms = busy * to_ms
    matmul_ms = (by_class["matmul"] + by_class["matmul (LM head)"]) * to_ms
    return {
        "op_time_ms_per_step": round(busy_ms, 1),
        "matmul_gflops_per_s_during_matmuls": round(flops_per_step / (matmul_ms * 1e-3) / 1e9, 1)
        if matmul_ms
        else None,
        "classes": {k: {"ms": round(v * to_ms, 1), "share": round(v / busy, 3)} for k, v in by_class.most_common()},
        "op_types": {
            k: {"ms": round(v * to_ms, 1), "share": round(v / busy, 3), "count": count[k] // steps}
            for k, v in by_type.most_common(25)
        },
        "step_ms_untraced": round(step_ms, 1),
        "top_ops": {k: round(v * to_ms, 1) for k, v in by_scope.most_common(top)},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=2, help="traced training steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--xla", choices=("off", "on"), default="off")
    parser.add_argument("--model", choices=("zoo", "keras_hub"), default="zoo")
    parser.add_argument("--top", type=int, default=0, help="also list the N costliest ops (layers of a stack summed)")
    args = parser.parse_args(argv)

    from llm_train_throughput import keras_hub_gpt2

    from zoo.llm.sizing.explain import flops_per_token

    config = get_preset(args.preset)
    keras.utils.set_random_seed(0)
    if args.model == "zoo":
        model = build_llm("causal", args.preset, compile=False)
    else:
        model = keras_hub_gpt2(config)
    compile_like_zoo(model, args.xla == "on")
    x, y = training_batch(config, args.batch_size, args.seq_len)
    step_ms, traced_ms, events = profile(model, x, y, args.steps, args.warmup)
    flops = flops_per_token(config, "causal", seq_len=args.seq_len)["training"] * args.batch_size * args.seq_len
    report = {
        "benchmark": "llm_train_profile",
        "model": args.model,
        "preset": args.preset,
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "xla": args.xla == "on",
        "steps": args.steps,
        "step_ms_traced": round(traced_ms, 1),
        "train_flops_per_step": flops,
        **summarize(events, args.steps, flops, step_ms, args.top),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
