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
# # Serving: SavedModel for TF Serving, and TFLite / 書き出しとサービング
#
# Train a CNN briefly, export it as a versioned SavedModel in TF Serving's layout and as a TFLite file, load both
# back and check they answer as the Keras model does.
#
# CNN を短く学習し、TF Serving 用の SavedModel と TFLite に書き出し、読み戻して Keras と同じ答えか確かめます。

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

# %%
import tensorflow as tf

from zoo import build_cnn, load_digits_28
from zoo.export.saved_model import export_saved_model

(x_train, y_train), (x_test, y_test) = load_digits_28()
cnn = build_cnn()
cnn.fit(x_train, y_train, epochs=2, batch_size=64, verbose=0)
exported = export_saved_model(cnn, output="saved_models/notebooks", name="cnn")
print(exported)

# %% [markdown]
# The SavedModel's `serving_default` signature takes `image` and returns `probabilities` and `label`, the same
# request TF Serving's REST API answers (`docker run -p 8501:8501 ... tensorflow/serving`, see README.md).

# %%
loaded = tf.saved_model.load(exported.path)
served = loaded.signatures["serving_default"](image=tf.constant(x_test[:8], tf.float32))
print("served labels:", served["label"].numpy())
print("Keras labels: ", cnn.predict(x_test[:8], verbose=0).argmax(-1))

# %% [markdown]
# ## TFLite

# %%
from zoo.cli import main as zoo
from zoo.export.tflite import run_tflite

os.makedirs("runs/notebooks", exist_ok=True)
cnn.save("runs/notebooks/cnn.keras")
zoo(["export", "runs/notebooks/cnn.keras", "--format", "tflite", "--output", "saved_models/notebooks", "--name", "cnn"])
folder = "saved_models/notebooks/cnn/tflite"
tflite_file = os.path.join(folder, sorted(os.listdir(folder), key=int)[-1], "model.tflite")
print(tflite_file, os.path.getsize(tflite_file), "bytes")
print("TFLite labels:", run_tflite(tflite_file, {"image": x_test[:8].astype("float32")})["label"])
