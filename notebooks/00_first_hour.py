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
# # The first hour / 最初の1時間
#
# Train a small GPT on the built-in corpus, read its run folder, change one option, and compare the two runs.
# The same steps from a terminal: `make demo`, then `zoo run --learning-rate 0.0003`, then `tensorboard --logdir runs`.
#
# 組み込みコーパスで小さな GPT を学習し、実行フォルダを読み、オプションを1つ変えて2つの実行を比べます。
# ターミナルでは `make demo`、`zoo run --learning-rate 0.0003`、`tensorboard --logdir runs` と同じです。

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
# ## 1. Train / 学習する
#
# `zoo run` is the main job: prepare the corpus (clean, filter, deduplicate), train a SentencePiece tokenizer,
# pretrain the `tiny` GPT with `model.fit`, generate. Here it runs 30 steps instead of 800 so the notebook stays
# short; `make demo` runs the full 800 (validation loss 3.95 nats/token against a unigram baseline of 5.64).
#
# `zoo run` はメインの学習です。ここでは短くするために 800 ステップではなく 30 ステップだけ学習します。

# %%
import json

from zoo.cli import load_recipe

main_job = load_recipe("run").recipe
QUICK = [
    "--steps",
    "30",
    "--eval-every",
    "15",
    "--max-new-tokens",
    "16",
    "--sample-tokens",
    "8",
    "--no-export",
    "--runs-dir",
    "runs/notebooks",
    "--verbose",
    "0",
]
first = main_job.run(QUICK)
print(json.dumps({k: first[k] for k in ("val_loss", "unigram_entropy", "beats_unigram_by", "run_dir")}, indent=1))

# %% [markdown]
# ## 2. Read the run folder / 実行フォルダを読む
#
# Every run writes `runs/<recipe>-<timestamp>/`: the options (`config.json`), the history (`history.csv`),
# plots, generated samples, the model and its tokenizer, and the final numbers (`results.json`).

# %%
import csv

run_dir = first["run_dir"]
print(sorted(os.listdir(run_dir)))
config = json.load(open(os.path.join(run_dir, "config.json")))
print({k: config[k] for k in ("preset", "steps", "batch_size", "seq_len", "learning_rate", "seed")})
with open(os.path.join(run_dir, "history.csv")) as f:
    for row in csv.DictReader(f):
        print({k: row[k] for k in row if k in ("epoch", "loss", "val_loss", "val_perplexity", "learning_rate")})

# %%
from IPython.display import Image, display

display(Image(os.path.join(run_dir, "training.png")))
print(open(os.path.join(run_dir, "generated.txt"), encoding="utf-8").read()[:600])

# %% [markdown]
# ## 3. Change one option / オプションを1つ変える
#
# The same run with a ten times smaller peak learning rate (`--learning-rate 0.0003`, default 0.003).
# Everything else, the seed included, is the same, so the difference is the learning rate's doing.
#
# 学習率だけを 10 分の 1 にします。シードも含めて他は同じなので、差は学習率によるものです。

# %%
second = main_job.run([*QUICK, "--learning-rate", "0.0003"])
for name, result in (("learning rate 0.003", first), ("learning rate 0.0003", second)):
    print(f"{name:22s} validation loss {result['val_loss']:.3f} nats/token (unigram {result['unigram_entropy']:.3f})")

# %% [markdown]
# ## 4. Compare in TensorBoard / TensorBoard で比べる
#
# Both runs wrote TensorBoard logs into their `tensorboard/` folders. In a terminal:
# `tensorboard --logdir runs/notebooks`, then open http://localhost:6006. In Jupyter or Colab, run in a cell:
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir runs/notebooks
# ```
#
# 2つの実行の損失曲線が重なって表示されます。学習率を下げた実行は損失の下がり方が遅いはずです。
#
# Next: the notebook of a tutorial chapter (`01_data` ... `10_serving`) or README.ja.md.

# %%
print(
    [d for d in sorted(os.listdir("runs/notebooks")) if os.path.isdir(os.path.join("runs/notebooks", d, "tensorboard"))]
)
