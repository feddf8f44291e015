# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # III.A-B Parallelism / 並列処理
#
# Data parallelism with `tf.distribute.MirroredStrategy` on two logical CPU devices, and the GPipe pipeline schedule
# with its bubble. Model parallelism (`zoo model-parallel --mesh 2x2`) runs on the JAX backend in its own process.
#
# データ並列（2 つの論理 CPU デバイス上の Mirrored）と GPipe のパイプライン並列とバブル。

# %% [markdown]
# <!-- header: the same in every notebook; notebooks/build_notebooks.py --check keeps it so -->
# Runs offline on a laptop CPU in minutes. In Colab, or any kernel without zoo, the next cell installs zoo from its
# git repository first (a few minutes, once): set `ZOO_GIT_URL` to your zoo repository or fork.
#
# CPU で数分、インターネットなしで動きます。Colab では次のセルが zoo をインストールします（`ZOO_GIT_URL` に
# zoo のリポジトリの URL を入れてください）。

# %%
import importlib.util
import os
import subprocess
import sys

ZOO_GIT_URL = os.environ.get("ZOO_GIT_URL", "")  # e.g. "https://github.com/<you>/zoo.git"
if importlib.util.find_spec("zoo") is None:  # Colab or a bare kernel: clone and install once
    if not ZOO_GIT_URL:
        raise SystemExit("zoo is not installed here: set ZOO_GIT_URL above to the git URL of your zoo repository")
    if not os.path.isdir("zoo-src"):
        subprocess.run(["git", "clone", "--depth", "1", ZOO_GIT_URL, "zoo-src"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "zoo-src[ja]"], check=True)
    os.chdir("zoo-src")
    sys.path.insert(0, os.getcwd())  # the editable install is seen by new kernels only
elif os.path.basename(os.getcwd()) == "notebooks":
    os.chdir("..")  # recipes/ and runs/ live at the root of the checkout

# %% [markdown]
# ## III.A.1 Data parallel / データ並列
#
# `--cpu-devices 2` splits the CPU into two logical devices, so `--strategy mirrored` runs as it would on two GPUs.
# `--batch-size` is the global batch, split over the replicas.

# %%
from zoo.cli import load_recipe

results = load_recipe("pretrain-clm").recipe.run(
    ["--strategy", "mirrored", "--cpu-devices", "2", "--batch-size", "16", "--steps", "20", "--eval-every", "10"]
    + ["--runs-dir", "runs/notebooks", "--verbose", "0"]
)
print({k: results[k] for k in ("val_loss", "unigram_entropy") if k in results})

# %% [markdown]
# ## III.A.3 Pipeline parallel: the bubble / パイプライン並列とバブル
#
# With p stages and m micro-batches, GPipe leaves each device idle for (p - 1) / (m + p - 1) of the time.
# More micro-batches, smaller bubble.

# %%
from zoo.parallel.pipeline_parallel import bubble_fraction, gpipe_order, simulate_gpipe

for stages in (2, 4):
    print(f"p={stages}: " + "  ".join(f"m={m}: {bubble_fraction(stages, m):.2f}" for m in (1, 2, 4, 8, 16)))
equal = {item: 1.0 for item in gpipe_order(4, 8)}
print("simulated clock, 4 stages x 8 micro-batches:", simulate_gpipe(equal, 4, 8))

# %%
results = load_recipe("pipeline-parallel").recipe.run(
    ["--stages", "2", "--micro-batches", "4", "--steps", "5", "--runs-dir", "runs/notebooks", "--verbose", "0"]
)
print({k: v for k, v in results.items() if isinstance(v, (int, float))})

# %% [markdown]
# III.B: on GPUs `--strategy auto` picks Mirrored, on a Cloud TPU VM `--strategy tpu`; several machines use
# `--strategy multi_worker` (docs/distributed.md).
