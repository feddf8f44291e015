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
# # The tutorial's four classic models: CNN, RNN, GAN, transfer learning / 4つの古典的なモデル
#
# Each factory reproduces the tutorial's code layer for layer; each recipe trains it offline on scikit-learn's
# digits or the built-in text. Short runs here; the README's results use the defaults.
#
# 各ファクトリーはチュートリアルのコードを層ごとに再現します。ここでは短く学習します。

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
# ## CNN（畳み込みニューラルネットワーク）

# %%
import numpy as np

from zoo import build_cnn, load_digits_28

(x_train, y_train), (x_test, y_test) = load_digits_28()  # scikit-learn digits, 28x28x1
cnn = build_cnn()  # Conv2D 32 -> pool -> Conv2D 64 -> pool -> Conv2D 64 -> Dense 64 -> Dense 10
print(cnn.count_params(), "parameters")
cnn.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0)
print("test accuracy:", float(np.mean(cnn.predict(x_test, verbose=0).argmax(-1) == y_test)))

# %% [markdown]
# ## RNN（再帰型ニューラルネットワーク）: an LSTM text generator

# %%
from zoo.cli import load_recipe

RUNS = ["--runs-dir", "runs/notebooks", "--verbose", "0"]
lstm = load_recipe("train-lstm").recipe.run(["--epochs", "1", "--max-windows", "5000", *RUNS])
print({k: v for k, v in lstm.items() if isinstance(v, (int, float))})

# %% [markdown]
# ## GAN（敵対的生成ネットワーク）
#
# The tutorial's GAN never trains its generator against the discriminator; zoo's `GAN.train_step` alternates the
# two updates. Two epochs only: the digits are still blurry.

# %%
from IPython.display import Image, display

gan = load_recipe("train-gan").recipe.run(
    ["--epochs", "2", "--classifier-epochs", "2", "--score-samples", "200", *RUNS]
)
print({k: v for k, v in gan.items() if isinstance(v, (int, float))})
runs = sorted(d for d in os.listdir("runs/notebooks") if d.startswith("train-gan-"))
samples = os.path.join("runs/notebooks", runs[-1], "samples")
display(Image(os.path.join(samples, sorted(os.listdir(samples))[-1])))

# %% [markdown]
# ## 転移学習 (transfer learning)
#
# A CNN learns digits 0-4; its frozen base carries over to digits 5-9 with 10 images per class.

# %%
transfer = load_recipe("transfer").recipe.run(
    ["--source-epochs", "3", "--epochs", "3", "--finetune-epochs", "2", *RUNS]
)
print({k: v for k, v in transfer.items() if isinstance(v, (int, float))})
