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
# # III.D Compression: quantization, distillation, pruning, low rank / 圧縮
#
# Tutorial sections III.D.1-3 on the tutorial's CNN and a tiny GPT: Keras int8 quantization, TF-MOT pruning,
# knowledge distillation and a low-rank (SVD) factorization, each measured against the uncompressed model.
#
# チュートリアル III.D.1〜3。量子化、剪定、知識蒸留、低ランク分解を、圧縮前のモデルと比べます。

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
# ## III.D.1 Quantization / 量子化
#
# `quantize_model` runs Keras' `model.quantize("int8")` on every layer that has a quantized form.

# %%
import numpy as np

from zoo import build_cnn, load_digits_28
from zoo.compress.keras_quantize import quantize_model

(x_train, y_train), (x_test, y_test) = load_digits_28()
cnn = build_cnn()
cnn.fit(x_train, y_train, epochs=3, batch_size=64, verbose=0)
float_accuracy = float(np.mean(cnn.predict(x_test, verbose=0).argmax(-1) == y_test))
kernel = cnn.get_layer("dense").get_weights()[0]  # 576 x 64, kept for the low-rank section below
report = quantize_model(cnn, "int8")
int8_accuracy = float(np.mean(cnn.predict(x_test, verbose=0).argmax(-1) == y_test))
print(f"quantized {report['quantized']}, kept float {report['kept_float']}")
print(f"test accuracy float32 {float_accuracy:.4f}, int8 {int8_accuracy:.4f}")

# %% [markdown]
# The LLM: `zoo compress quantize-llm` trains a tiny GPT, then measures perplexity and size in int8 and int4.

# %%
from zoo.cli import load_recipe

RUNS = ["--runs-dir", "runs/notebooks", "--verbose", "0"]
results = load_recipe("quantize-llm").recipe.run(["--steps", "40", "--modes", "int8", "int4", *RUNS])
print(results)

# %% [markdown]
# ## III.D.3 Low rank / 低ランク分解
#
# A weight matrix W (m x n) becomes U (m x r) times V (r x n); r sets the size and the error.

# %%
from zoo.compress.low_rank import svd_factors

for rank in (4, 16, 64):
    a, b, _, kept = svd_factors(kernel, rank=rank)
    error = np.linalg.norm(a @ b - kernel) / np.linalg.norm(kernel)
    print(f"rank {rank:3d}: {a.size + b.size:6,} numbers instead of {kernel.size:,}, relative error {error:.3f}")

# %% [markdown]
# ## III.D.3 Pruning and III.D.2 distillation / 剪定と知識蒸留
#
# Pruning goes through TF-MOT (on a tf_keras copy of the model); distillation trains a small student on the
# teacher's softened outputs. Short runs of both recipes:

# %%
pruned = load_recipe("compress-prune").recipe.run(["--base-epochs", "2", "--epochs", "1", "--sparsity", "0.5", *RUNS])
print({k: v for k, v in pruned.items() if isinstance(v, (int, float, str))})
distilled = load_recipe("distill").recipe.run(["--task", "cnn", "--teacher-epochs", "2", "--epochs", "2", *RUNS])
print({k: v for k, v in distilled.items() if isinstance(v, (int, float, str))})
