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
# # II.D Optimization techniques / 最適化技術
#
# Tutorial sections II.D.1-2: the learning-rate schedule, weight decay, gradient accumulation, mixed precision
# and gradient checkpointing (remat), each one option of the pretraining recipes.
#
# チュートリアル II.D.1〜2。学習率スケジュール、重み減衰、勾配アキュムレーション、混合精度、勾配チェックポイント。

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
# ## II.D.2 Warmup, then decay / ウォームアップと減衰
#
# `--learning-rate 0.003 --warmup-steps 30 --decay cosine` on a 300-step run is this curve.

# %%
import matplotlib.pyplot as plt

from zoo.train.schedules import WarmupDecay

steps = range(300)
for decay in ("cosine", "linear", "constant"):
    schedule = WarmupDecay(3e-3, 300, warmup_steps=30, decay=decay, min_learning_rate=3e-4)
    plt.plot(steps, [float(schedule(s)) for s in steps], label=decay)
plt.xlabel("step")
plt.ylabel("learning rate")
plt.legend()
plt.show()

# %% [markdown]
# ## II.D.1 Memory: precision, remat, batch / メモリ: 精度、remat、バッチ
#
# `zoo explain` estimates training memory before anything is built, so the effect of each option can be read off.

# %%
from zoo.llm.models.presets import get_preset
from zoo.llm.sizing.explain import explain

config = get_preset("small")
for precision in ("float32", "mixed_bfloat16"):
    for batch in (8, 32):
        memory = explain(config, batch_size=batch, seq_len=256, precision=precision)["memory_bytes"]
        mib = {part: f"{value / 2**20:,.0f} MiB" for part, value in memory.items()}
        print(f"{precision:15s} batch {batch:3d}: {mib}")

# %% [markdown]
# ## All of them in one run / まとめて1回の学習で
#
# Gradient accumulation (`--accum-steps 2`: one update per two micro-batches), remat and AdamW weight decay on the
# tiny GPT. On a GPU add `--precision mixed_float16`; on this kind of CPU mixed precision works but is slower.

# %%
from zoo.cli import load_recipe

results = load_recipe("pretrain-clm").recipe.run(
    ["--steps", "40", "--eval-every", "20", "--accum-steps", "2", "--remat", "--weight-decay", "0.1"]
    + ["--runs-dir", "runs/notebooks", "--verbose", "0"]
)
print({k: results[k] for k in ("val_loss", "unigram_entropy") if k in results})

# %% [markdown]
# Hyperparameter search: `zoo tune --trials 12` (KerasTuner over learning rate, batch size, weight decay, warmup).
