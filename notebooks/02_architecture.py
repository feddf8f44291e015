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
# # II.B Architecture and scaling / アーキテクチャとスケーリング
#
# Tutorial sections II.B.1-3: build a GPT, read the one-file reading copy, and size models from `tiny` to GPT-2
# small before building them (`zoo explain`).
#
# チュートリアル II.B.1〜3。GPT を作り、1 ファイルの読むための版と比べ、モデルの大きさを作る前に見積もります。

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
# ## II.B.1 A transformer from the factory / ファクトリーからトランスフォーマーを作る

# %%
import numpy as np

from zoo import build_llm

model = build_llm("causal", "tiny")  # 2 blocks, width 64, 4 heads, vocabulary 512
model.summary()

# %% [markdown]
# `zoo/llm/gpt.py` is the same network in one file to read. `from_zoo` copies the library model's weights into
# it; both give the same logits.
#
# `zoo/llm/gpt.py` は同じネットワークを 1 ファイルにしたものです。重みを写すと同じ出力になります。

# %%
from zoo.llm.gpt import from_zoo

ids = np.random.default_rng(0).integers(1, 512, (2, 16))
reading_copy = from_zoo(model)
library_logits = model.predict({"token_ids": ids, "padding_mask": np.ones_like(ids, "int32")}, verbose=0)
print("max |difference|:", float(np.abs(np.asarray(reading_copy(ids)) - library_logits).max()))

# %% [markdown]
# ## II.B.2 Scaling: parameters, FLOPs and memory before building / 作る前に大きさを見積もる
#
# `explain` is arithmetic only: it answers for GPT-2 small (124M parameters) in a fraction of a second.

# %%
from zoo.llm.models.presets import get_preset
from zoo.llm.sizing.explain import explain, format_report

print(format_report("gpt2_small", explain(get_preset("gpt2_small"), batch_size=8, seq_len=1024)))

# %%
for name in ("tiny", "small", "gpt2_small"):
    report = explain(get_preset(name))
    print(
        f"{name:11s} parameters {report['parameters']['total']:>12,}  compute-optimal tokens {report['compute_optimal_tokens']:>14,}"
    )

# %% [markdown]
# ## II.B.3 Specialised modules / 専門モジュール
#
# Retrieval (`zoo retrieve`, `zoo knn-lm`, `zoo rag`) and reasoning (`zoo reason`) are recipes of their own; see
# README.ja.md II.B.3 for their commands and measured results.
