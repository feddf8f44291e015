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
# # II.C.1 Pretraining: causal and masked language models / 事前学習
#
# A GPT learns to predict the next token (CLM); a BERT learns to fill in masked tokens (MLM, optionally with
# next-sentence prediction). Both with `model.fit` on the built-in corpus, a few dozen steps each.
#
# GPT は次のトークンを予測し（CLM）、BERT は隠したトークンを当てます（MLM）。どちらも `model.fit` で学習します。

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
# ## Causal LM by hand / 因果言語モデルを手で
#
# `corpus_datasets` gives tf.data pipelines of (token ids, labels shifted by one); `build_llm` a compiled model
# whose inputs are named `token_ids` and `padding_mask`.

# %%
import tensorflow as tf

from zoo import build_llm
from zoo.data.pipelines import corpus_datasets
from zoo.data.prepare import prepare_corpus

corpus = "data/corpus-builtin"
if not os.path.exists(os.path.join(corpus, "report.json")):
    prepare_corpus(progress=False)
train, val, tokenizer = corpus_datasets(corpus, "clm", sequence_length=64, batch_size=16)


def named(x, y):  # the model's inputs are named; packed windows have no padding
    return {"token_ids": x, "padding_mask": tf.ones_like(x)}, y


train, val = train.map(named), val.map(named)
model = build_llm("causal", "tiny", vocab_size=tokenizer.vocabulary_size())
before = model.evaluate(val, verbose=0, return_dict=True)["loss"]
model.fit(train.take(60), verbose=0)
after = model.evaluate(val, verbose=0, return_dict=True)["loss"]
print(f"validation loss {before:.2f} -> {after:.2f} nats/token after 60 steps")

# %% [markdown]
# ## The recipes / レシピ
#
# `zoo pretrain-clm` adds the schedule, evaluation, samples, checkpoints and the run folder;
# `zoo pretrain-mlm --nsp` does the same for BERT-style pretraining.

# %%
from zoo.cli import load_recipe

common = ["--steps", "40", "--eval-every", "20", "--runs-dir", "runs/notebooks", "--verbose", "0"]
clm = load_recipe("pretrain-clm").recipe.run(common)
print({k: clm[k] for k in ("val_loss", "unigram_entropy", "beats_unigram_by") if k in clm})
mlm = load_recipe("pretrain-mlm").recipe.run([*common, "--nsp"])
print({k: v for k, v in mlm.items() if isinstance(v, (int, float))})
