"""Benchmark: full attention through zoo's einsums against keras.ops.dot_product_attention (one JSON object).

Times a forward and backward pass of `MultiHeadAttention`'s attention core at the
shape of the small preset's training step (batch 32, 4 heads of 64, causal,
sequence 128 and 256) on the current backend and device, the two paths in
alternation for `--rounds` rounds: `dot_product_attention_over_einsum` < 1 means
Keras' kernel is faster, `ratio_per_round` is the spread. It also reports the
largest output difference of the two and what `prefers_dot_product_attention()`
chooses here. zoo uses Keras' kernel only where it chooses so (or is told:
`MultiHeadAttention.use_dot_product_attention`).

Run:
    python benchmarks/attention_kernels.py --rounds 7
    KERAS_BACKEND=jax python benchmarks/attention_kernels.py
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo.llm.attention.full import MultiHeadAttention, prefers_dot_product_attention  # noqa: E402


def attention_step(layer, fused, jit_compile):
    """A compiled function: loss and gradients of the attention core w.r.t. q, k, v."""
    backend = keras.backend.backend()

    def loss(q, k, v):
        layer.use_dot_product_attention = fused
        return keras.ops.sum(keras.ops.square(layer.attend_sequence(q, k, v)))

    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=jit_compile)
        def step(q, k, v):
            with tf.GradientTape() as tape:
                tape.watch([q, k, v])
                value = loss(q, k, v)
            return value, tape.gradient(value, [q, k, v])

        return step
    if backend == "jax":
        import jax

        return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    raise SystemExit(f"attention_kernels.py runs on the tensorflow or jax backend, not {backend}.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per shape (default: 7)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per round and path (default: 3)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-lens", type=int, nargs="+", default=[128, 256])
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.repeats < 1:
        parser.error("--rounds and --repeats must be at least 1")
    heads, head_dim = 4, 64
    layer = MultiHeadAttention(heads, head_dim, causal=True)
    rng = np.random.default_rng(0)
    xla_options = (False, True) if keras.backend.backend() == "tensorflow" else (True,)
    rows = []
    for seq in args.seq_lens:
        q, k, v = (
            keras.ops.convert_to_tensor(rng.normal(size=(args.batch, seq, heads, head_dim)).astype("float32"))
            for _ in range(3)
        )
        for xla in xla_options:
            steps = {fused: attention_step(layer, fused, xla) for fused in (False, True)}
            outputs = {}
            for fused, step in steps.items():  # warm-up: tracing and compiling
                layer.use_dot_product_attention = fused
                outputs[fused] = np.asarray(layer.attend_sequence(q, k, v))
                step(q, k, v)
            times = {False: [], True: []}
            for _ in range(args.rounds):
                for fused, step in steps.items():
                    start = time.perf_counter()
                    for _ in range(args.repeats):
                        value, _ = step(q, k, v)
                    float(value)  # wait for the result
                    times[fused].append((time.perf_counter() - start) / args.repeats * 1000)
            einsum_ms, fused_ms = statistics.median(times[False]), statistics.median(times[True])
            rows.append(
                {
                    "seq_len": seq,
                    "jit_compile": xla,
                    "einsum_ms": round(einsum_ms, 3),
                    "dot_product_attention_ms": round(fused_ms, 3),
                    "dot_product_attention_over_einsum": round(fused_ms / einsum_ms, 3),
                    "ratio_per_round": sorted(round(f / e, 3) for f, e in zip(times[True], times[False])),
                    "max_abs_diff": float(np.abs(outputs[True] - outputs[False]).max()),
                }
            )
    layer.use_dot_product_attention = None
    print(
        json.dumps(
            {
                "benchmark": "attention_kernels",
                "backend": keras.backend.backend(),
                "cpu_count": os.cpu_count(),
                "shape": {"batch": args.batch, "heads": heads, "head_dim": head_dim, "causal": True},
                "rounds": args.rounds,
                "prefers_dot_product_attention": prefers_dot_product_attention(),
                "results": rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
