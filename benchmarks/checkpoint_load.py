"""Load time and peak memory of a gpt2_small-sized checkpoint (124M parameters, random weights), both formats.

Prints one JSON object. A random zoo GPT-2 small is written once as a Hugging Face
folder (config.json + model.safetensors) and once as a keras-hub preset
(save_to_preset). Each load then runs in a fresh subprocess, which reports

- `seconds`: wall time of the load call alone (after `import zoo` and TensorFlow),
- `peak_rss_mb`: the process's peak resident memory (VmHWM in /proc/self/status; getrusage's
  ru_maxrss is not used because Linux carries the parent's peak across exec),
- `over_baseline_mb`: that peak minus the peak of a baseline process that imports the
  same libraries and builds the same model with random weights (no file read): what
  reading the checkpoint adds.

Loaders: zoo `from_pretrained` on each folder, and keras-hub's own
`GPT2Backbone.from_preset` on the same folders as the reference in the same run
(`ratio_vs_keras_hub` = zoo seconds / keras-hub seconds; zoo also builds the LM head
and attaches the tokenizer-less model, keras-hub only the backbone).

Example:
    $ python benchmarks/checkpoint_load.py            # writes to a temporary folder
    $ python benchmarks/checkpoint_load.py --repeats 3
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

WORKER = r"""
import json, sys, time
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
mode, folder = sys.argv[1], sys.argv[2]
import keras_hub  # noqa: F401  (imported before the clock starts, in every mode)
import zoo.llm
from zoo import from_pretrained
start = time.perf_counter()
if mode == "baseline":
    zoo.llm.build_llm("causal", "gpt2_small", compile=False)
elif mode == "zoo":
    from_pretrained(folder, compile=False)
else:
    keras_hub.models.GPT2Backbone.from_preset(folder)
seconds = time.perf_counter() - start
# VmHWM: this process's own peak resident memory (ru_maxrss would carry the parent's peak across exec).
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mb": hwm / 1024}))
"""


def _run(mode, folder, root):
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", WORKER, mode, folder], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(mode, folder, root, repeats):
    runs = [_run(mode, folder, root) for _ in range(repeats)]
    return {
        "seconds": round(min(r["seconds"] for r in runs), 2),
        "peak_rss_mb": round(min(r["peak_rss_mb"] for r in runs), 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="loads per case; the fastest is reported (default: 1)")
    parser.add_argument("--folder", default=None, help="where to write the checkpoints (default: a temporary folder)")
    args = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    from zoo import save_pretrained
    from zoo.llm import build_llm

    work = args.folder or tempfile.mkdtemp(prefix="zoo-checkpoint-bench-")
    model = build_llm("causal", "gpt2_small", compile=False)
    folders = {"hf": os.path.join(work, "gpt2_small-hf"), "keras-hub": os.path.join(work, "gpt2_small-keras-hub")}
    sizes = {}
    for fmt, folder in folders.items():
        start = time.perf_counter()
        save_pretrained(model, folder, format=fmt)
        sizes[fmt] = {
            "save_seconds": round(time.perf_counter() - start, 2),
            "folder_mb": round(
                sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files) / 2**20, 1
            ),
        }
    parameters = int(model.count_params())
    del model
    baseline = _best("baseline", "", root, args.repeats)
    results = {
        "model": "gpt2_small (random weights)",
        "parameters": parameters,
        "baseline_build": baseline,
        "formats": {},
    }
    for fmt, folder in folders.items():
        zoo_load = _best("zoo", folder, root, args.repeats)
        reference = _best("keras-hub", folder, root, args.repeats)
        results["formats"][fmt] = {
            **sizes[fmt],
            "zoo_from_pretrained": {
                **zoo_load,
                "over_baseline_mb": round(zoo_load["peak_rss_mb"] - baseline["peak_rss_mb"], 1),
            },
            "keras_hub_from_preset": reference,
            "ratio_vs_keras_hub": round(zoo_load["seconds"] / reference["seconds"], 2),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
