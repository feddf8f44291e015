"""Benchmark: serving latency of exported SavedModels against Keras (prints one JSON object).

Rows: the CNN and the LM's `logits` signature against Keras `predict`, and the
LM's `generate` signature (graph loop of core ops with a KV cache, what TF Serving
runs) and `generate_xla` (the same loop XLA-compiled) against `model.generate`
for 128 new tokens at batch 1 and 8, reported as `saved_model_over_keras` (wall
time, with its per-round spread) and `cpu_over_keras` (process CPU time).

The measuring code lives in `zoo.export.serving_benchmark` so `zoo` users can run it too;
this script is the benchmarks/ entry point.

Run:
    python benchmarks/serving.py --repeats 10 --rounds 3
    python benchmarks/serving.py --only generate --rounds 7
"""

import sys

from zoo.export.serving_benchmark import main

if __name__ == "__main__":
    sys.exit(main())
