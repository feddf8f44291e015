"""Benchmark: on-device generation with a LiteRT prefill/decode file against Keras `generate`, in one process.

A causal LM of the `tiny` (and `small`) preset shape is exported with
`zoo.export.litert_generate` (KV cache as state, fixed max_length) and run with
`ai_edge_litert`'s interpreter, greedy, batch 1: a prompt of 4 tokens and
`--new-tokens` new ones, with one interpreter thread (a phone core; also the
Python interpreter's default) and with two. Reported: the prompt's time (a
4-token prompt runs as decode steps, see `LiteRTGenerator.generate`; the
prefill signature's time is reported too), the median time of one decode step
(ms per token), the whole generation, its process CPU time, and Keras' cached, XLA-compiled `model.generate` for the same
prompt, plus whether both give the same tokens. The three run interleaved
(LiteRT 1 thread, LiteRT 2 threads, Keras; `--rounds` times after a warm-up):
medians, with the spread over rounds of the whole-run time. Weights are random
(speed does not depend on them; a random model's greedy tokens still test the
cache bookkeeping).

Run:
    python benchmarks/litert_generate.py                 # tiny and small, 64 new tokens
    python benchmarks/litert_generate.py --presets tiny --new-tokens 16
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

VOCAB = 2000
PROMPT = [5, 17, 42, 7]


def timed(run):
    """(result, wall ms, process CPU ms) of run()."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, (time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0


def measure(preset, new_tokens, threads, rounds):
    import keras
    import numpy as np

    from zoo.export.litert_generate import LiteRTGenerator, convert_generate
    from zoo.llm import build_llm

    keras.utils.set_random_seed(0)
    max_length = len(PROMPT) + new_tokens
    model = build_llm("causal", preset, vocab_size=VOCAB, max_length=max(max_length, 128), compile=False)
    started = time.perf_counter()
    content = convert_generate(model, max_length)
    export_s = time.perf_counter() - started
    generators = {t: LiteRTGenerator(content, num_threads=t) for t in threads}
    runs = {t: [] for t in threads}
    keras_runs = []
    for generator in generators.values():
        generator.generate(PROMPT, new_tokens)  # warm-up
    model.generate([PROMPT], max_new_tokens=new_tokens, sampler="greedy")  # warm-up: the XLA compile
    for _ in range(rounds):
        for t, generator in generators.items():
            tokens, wall, cpu = timed(lambda: generator.generate(PROMPT, new_tokens))
            timings = dict(generator.timings)
            generator.generate(PROMPT, 1, use_prefill=True)
            timings["prefill_signature_ms"] = generator.timings["prefill_ms"]
            runs[t].append((wall, cpu, timings, tokens))
        want, wall, cpu = timed(lambda: model.generate([PROMPT], max_new_tokens=new_tokens, sampler="greedy")[0])
        keras_runs.append((wall, cpu, list(want)))

    def litert(t):
        walls = [r[0] for r in runs[t]]
        total = float(np.median(walls))
        return {
            "prompt_by": runs[t][0][2]["prompt_by"],
            "prompt_ms": round(float(np.median([r[2]["prefill_ms"] for r in runs[t]])), 3),
            "prefill_signature_ms": round(float(np.median([r[2]["prefill_signature_ms"] for r in runs[t]])), 3),
            "decode_ms_per_token": round(float(np.median([s for r in runs[t] for s in r[2]["decode_ms"]])), 3),
            "total_ms": round(total, 2),
            "total_ms_spread": [round(min(walls), 2), round(max(walls), 2)],
            "ms_per_new_token": round(total / new_tokens, 3),
            "cpu_ms_per_new_token": round(float(np.median([r[1] for r in runs[t]])) / new_tokens, 3),
            "same_tokens": all(r[3] == w[2] for r, w in zip(runs[t], keras_runs)),
        }

    keras_walls = [r[0] for r in keras_runs]
    keras_total = float(np.median(keras_walls))
    first, *others = threads
    row = litert(first)
    return {
        "preset": preset,
        "params": int(model.count_params()),
        "max_length": max_length,
        "new_tokens": new_tokens,
        "file_bytes": len(content),
        "export_seconds": round(export_s, 1),
        "litert_prompt_by": row["prompt_by"],
        "litert_prompt_ms": row["prompt_ms"],
        "litert_prefill_signature_ms": row["prefill_signature_ms"],
        "litert_decode_ms_per_token": row["decode_ms_per_token"],
        "litert_total_ms": row["total_ms"],
        "litert_total_ms_spread": row["total_ms_spread"],
        "litert_ms_per_new_token": row["ms_per_new_token"],
        "litert_cpu_ms_per_new_token": row["cpu_ms_per_new_token"],
        "litert_other_threads": {str(t): litert(t) for t in others},
        "keras_generate_total_ms": round(keras_total, 2),
        "keras_total_ms_spread": [round(min(keras_walls), 2), round(max(keras_walls), 2)],
        "keras_ms_per_new_token": round(keras_total / new_tokens, 3),
        "keras_cpu_ms_per_new_token": round(float(np.median([r[1] for r in keras_runs])) / new_tokens, 3),
        "litert_vs_keras_time": round(row["total_ms"] / keras_total, 3),
        "same_tokens": row["same_tokens"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="LiteRT prefill/decode generation vs Keras generate: one JSON object.")
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="interpreter threads; the first is the headline row"
    )
    parser.add_argument("--rounds", type=int, default=9, help="interleaved timed rounds after the warm-up")
    args = parser.parse_args(argv)
    if min(args.threads) < 1 or args.rounds < 1 or args.new_tokens < 2:
        parser.error("--threads must be >= 1, --rounds >= 1 and --new-tokens >= 2")
    import ai_edge_litert
    import keras

    rows = [measure(p, args.new_tokens, args.threads, args.rounds) for p in args.presets]
    print(
        json.dumps(
            {
                "benchmark": "litert_generate",
                "keras": keras.__version__,
                "ai_edge_litert": getattr(ai_edge_litert, "__version__", "unknown"),
                "prompt_tokens": len(PROMPT),
                "vocab_size": VOCAB,
                "batch": 1,
                "threads": args.threads[0],
                "other_threads": args.threads[1:],
                "cpu_cores": os.cpu_count(),
                "timing": (
                    f"LiteRT ({', '.join(map(str, args.threads))} threads) and Keras interleaved, {args.rounds} rounds "
                    "after a warm-up: median whole run (spread = min/max over rounds), decode = median step, "
                    "cpu = process CPU time; CPU, shared machine"
                ),
                "rows": rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
