"""Serving latency: the loaded SavedModel against Keras, in one run; prints one JSON object.

It exports the tutorial's CNN and a causal LM (preset "small", vocabulary 2,000
by default) to a temporary folder, loads them with `tf.saved_model.load` as a
server would, and times the same inputs through both paths:

- `cnn` and `logits` rows (batches 1, 8, 32): the signature against Keras
  `predict`, median of `--repeats` calls after two warm-up calls;
  `keras_over_saved_model` > 1 means the SavedModel is faster.
- `generate` rows (batches 1 and 8): greedy decoding of `--new-tokens` (128)
  tokens after a `--prompt-len` (4) token prompt: the `generate` signature (a
  graph loop of core ops with a KV cache, what TF Serving runs) and the
  `generate_xla` signature (the same loop compiled with XLA; export option
  `xla_generate`) against `model.generate` (XLA-compiled, with a KV cache). The
  three run in alternation for `--rounds` rounds after a warm-up of each;
  `saved_model_over_keras` is the ratio of the medians (< 1: the SavedModel is
  faster), `ratio_per_round` its spread, `cpu_over_keras` the same for the
  process's CPU time, which other jobs on a shared machine disturb less than
  wall time. `same_tokens` says whether all gave the same ids.

Example:
    $ python -m zoo.export.serving_benchmark --repeats 10 --rounds 3
    $ python -m zoo.export.serving_benchmark --only generate
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

from zoo.options import sequence_length

BATCHES = (1, 8, 32)
GENERATE_BATCHES = (1, 8)
PARTS = ("cnn", "logits", "generate")


def median_ms(fn, repeats):
    """Median wall time of `fn()` in milliseconds, after two warm-up calls (tracing, allocation)."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def compare(name, batch, keras_fn, served_fn, repeats):
    keras_ms, served_ms = median_ms(keras_fn, repeats), median_ms(served_fn, repeats)
    return {
        "model": name,
        "batch": batch,
        "keras_ms": keras_ms,
        "saved_model_ms": served_ms,
        "keras_over_saved_model": round(keras_ms / served_ms, 3),
    }


def compare_generate(name, batch, keras_fn, served_fns, rounds):
    """Alternate Keras and each served decoder `rounds` times after one warm-up call each.

    One row per served signature: medians of wall and CPU time, their ratios to Keras
    and the per-round wall ratios (the spread).
    """
    expected = keras_fn()
    same = {signature: fn() == expected for signature, fn in served_fns.items()}
    fns = {"keras": keras_fn, **served_fns}
    wall, cpu = {key: [] for key in fns}, {key: [] for key in fns}
    for _ in range(rounds):
        # Interleaved, so that load from other processes hits every side alike.
        for key, fn in fns.items():
            start_cpu, start = time.process_time(), time.perf_counter()
            fn()
            wall[key].append((time.perf_counter() - start) * 1000)
            cpu[key].append((time.process_time() - start_cpu) * 1000)
    keras_ms, keras_cpu = statistics.median(wall["keras"]), statistics.median(cpu["keras"])
    rows = []
    for signature in served_fns:
        served_ms, served_cpu = statistics.median(wall[signature]), statistics.median(cpu[signature])
        per_round = sorted(round(s / k, 3) for s, k in zip(wall[signature], wall["keras"]))
        rows.append(
            {
                "model": name,
                "signature": signature,
                "batch": batch,
                "keras_ms": round(keras_ms, 3),
                "saved_model_ms": round(served_ms, 3),
                "saved_model_over_keras": round(served_ms / keras_ms, 3),
                "ratio_per_round": per_round,
                "keras_cpu_ms": round(keras_cpu, 3),
                "saved_model_cpu_ms": round(served_cpu, 3),
                "cpu_over_keras": round(served_cpu / keras_cpu, 3),
                "same_tokens": same[signature],
            }
        )
    return rows


def main(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per cnn/logits row (default: 10)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per generate row (default: 5)")
    parser.add_argument("--lm-preset", default="small", help="causal LM preset (default: small)")
    parser.add_argument("--vocab-size", type=int, default=2000, help="the LM's vocabulary (default: 2000)")
    parser.add_argument(
        "--seq-len", type=sequence_length, default=64, help="tokens per row for the logits timing (default: 64)"
    )
    parser.add_argument("--prompt-len", type=int, default=4, help="prompt tokens per row for generate (default: 4)")
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens generated per row (default: 128)")
    parser.add_argument("--only", choices=PARTS, action="append", help="time only these parts (repeatable)")
    parser.add_argument(
        "--intra-op-threads",
        type=int,
        default=0,
        help="TensorFlow's intra-op threads, as a server sets them (TF Serving: --tensorflow_intra_op_parallelism); "
        "0 = TensorFlow's default (default: 0)",
    )
    parser.add_argument(
        "--inter-op-threads",
        type=int,
        default=0,
        help="TensorFlow's inter-op threads (TF Serving: --tensorflow_inter_op_parallelism); 0 = default (default: 0)",
    )
    args = parser.parse_args(argv)
    for flag in ("repeats", "rounds", "vocab_size", "seq_len", "prompt_len", "new_tokens"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    for flag in ("intra_op_threads", "inter_op_threads"):
        if getattr(args, flag) < 0:
            parser.error(f"--{flag.replace('_', '-')} must be 0 (TensorFlow's default) or more")
    parts = args.only or PARTS

    import tensorflow as tf

    # Both apply to the whole process and only before TensorFlow runs its first op: Keras and the
    # SavedModel then run under the same setting, as they would in one server.
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)

    from zoo.export.saved_model import export_saved_model
    from zoo.llm import build_llm
    from zoo.vision.cnn import build_cnn

    rng = np.random.default_rng(0)
    lm = build_llm("causal", args.lm_preset, vocab_size=args.vocab_size, dropout=0.0, compile=False)
    if args.prompt_len + args.new_tokens > lm.llm_config.max_length:
        parser.error(f"--prompt-len + --new-tokens must fit the preset's max_length {lm.llm_config.max_length}")
    vocab = lm.llm_config.vocab_size
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-serving-benchmark-") as root:
        if "cnn" in parts:
            cnn = build_cnn(compile=False)
            served_cnn = tf.saved_model.load(export_saved_model(cnn, root, check=False).path)
            for batch in BATCHES:
                images = rng.uniform(size=(batch, 28, 28, 1)).astype("float32")
                rows.append(
                    compare(
                        "cnn",
                        batch,
                        lambda images=images, batch=batch: cnn.predict(images, batch_size=batch, verbose=0),
                        lambda images=images: served_cnn.signatures["serving_default"](image=tf.constant(images)),
                        args.repeats,
                    )
                )
        served_lm = tf.saved_model.load(export_saved_model(lm, root, check=False, xla_generate=True).path)
        if "logits" in parts:
            for batch in BATCHES:
                ids = rng.integers(7, vocab, size=(batch, args.seq_len)).astype("int32")
                inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
                rows.append(
                    compare(
                        f"{args.lm_preset}_lm_logits",
                        batch,
                        lambda inputs=inputs, batch=batch: lm.predict(inputs, batch_size=batch, verbose=0),
                        lambda ids=ids: served_lm.signatures["logits"](token_ids=tf.constant(ids)),
                        args.repeats,
                    )
                )
        if "generate" in parts:
            for batch in GENERATE_BATCHES:
                prompts = rng.integers(7, vocab, size=(batch, args.prompt_len)).astype("int32")
                limits, temperature = np.full(batch, args.new_tokens, "int32"), np.zeros(batch, "float32")

                def served(signature, prompts=prompts, limits=limits, temperature=temperature):
                    out = served_lm.signatures[signature](
                        prompt_ids=tf.constant(prompts),
                        max_new_tokens=tf.constant(limits),
                        temperature=tf.constant(temperature),
                    )
                    return out["generated_ids"].numpy().tolist()

                rows.extend(
                    compare_generate(
                        f"{args.lm_preset}_lm_generate_{args.new_tokens}",
                        batch,
                        lambda prompts=prompts: lm.generate(prompts.tolist(), max_new_tokens=args.new_tokens),
                        {name: lambda name=name, s=served: s(name) for name in ("generate", "generate_xla")},
                        args.rounds,
                    )
                )
    print(
        json.dumps(
            {
                "benchmark": "serving",
                "tensorflow_version": tf.__version__,
                "cpu_count": os.cpu_count(),
                "repeats": args.repeats,
                "rounds": args.rounds,
                "intra_op_threads": args.intra_op_threads,
                "inter_op_threads": args.inter_op_threads,
                "lm": {
                    "preset": args.lm_preset,
                    "vocab_size": vocab,
                    "prompt_len": args.prompt_len,
                    "new_tokens": args.new_tokens,
                    "sampler": "greedy",
                },
                "results": rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
