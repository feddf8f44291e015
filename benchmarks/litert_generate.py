"""Benchmark: on-device generation with a LiteRT prefill/decode file against Keras `generate`, in one process.

A causal LM of the `tiny` (and `small`) preset shape is exported with
`zoo.export.litert_generate` (KV cache as state, fixed max_length) and run with
`ai_edge_litert`'s interpreter, greedy, batch 1: a prompt of 4 tokens and
`--new-tokens` new ones. Reported: the prefill time, the median time of one
decode step (ms per token), the whole generation, and Keras' cached, XLA-compiled
`model.generate` for the same prompt (median of 3 after a warm-up), plus whether
both give the same tokens. Weights are random (speed does not depend on them;
a random model's greedy tokens still test the cache bookkeeping).

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


def measure(preset, new_tokens, threads):
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
    generator = LiteRTGenerator(content, num_threads=threads)
    generator.generate(PROMPT, new_tokens)  # warm-up
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        tokens = generator.generate(PROMPT, new_tokens)
        runs.append(((time.perf_counter() - started) * 1000.0, dict(generator.timings)))
    total_ms, timings = sorted(runs, key=lambda r: r[0])[1]
    model.generate([PROMPT], max_new_tokens=new_tokens, sampler="greedy")  # warm-up: the XLA compile
    keras_ms = []
    for _ in range(3):
        started = time.perf_counter()
        want = model.generate([PROMPT], max_new_tokens=new_tokens, sampler="greedy")[0]
        keras_ms.append((time.perf_counter() - started) * 1000.0)
    keras_total = float(np.median(keras_ms))
    decode = float(np.median(timings["decode_ms"]))
    return {
        "preset": preset,
        "params": int(model.count_params()),
        "max_length": max_length,
        "new_tokens": new_tokens,
        "file_bytes": len(content),
        "export_seconds": round(export_s, 1),
        "litert_prefill_ms": round(timings["prefill_ms"], 3),
        "litert_decode_ms_per_token": round(decode, 3),
        "litert_total_ms": round(total_ms, 2),
        "litert_ms_per_new_token": round(total_ms / new_tokens, 3),
        "keras_generate_total_ms": round(keras_total, 2),
        "keras_ms_per_new_token": round(keras_total / new_tokens, 3),
        "litert_vs_keras_time": round(total_ms / keras_total, 3),
        "same_tokens": tokens == list(want),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="LiteRT prefill/decode generation vs Keras generate: one JSON object.")
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads (default: 1, a phone core)")
    args = parser.parse_args(argv)
    import ai_edge_litert
    import keras

    rows = [measure(p, args.new_tokens, args.threads) for p in args.presets]
    print(
        json.dumps(
            {
                "benchmark": "litert_generate",
                "keras": keras.__version__,
                "ai_edge_litert": getattr(ai_edge_litert, "__version__", "unknown"),
                "prompt_tokens": len(PROMPT),
                "vocab_size": VOCAB,
                "batch": 1,
                "threads": args.threads,
                "timing": "median of 3 runs after a warm-up; decode = median step; CPU, shared machine",
                "rows": rows,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
