"""Benchmark: serving latency of exported SavedModels against Keras predict (prints one JSON object).

The measuring code lives in `zoo.export.serving_benchmark` so `zoo` users can run it too;
this script is the benchmarks/ entry point.

Run:
    python benchmarks/serving.py --repeats 10
"""

import sys

from zoo.export.serving_benchmark import main

if __name__ == "__main__":
    sys.exit(main())
