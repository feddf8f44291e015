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
# # II.A Data: crawl, clean, filter, deduplicate, tokenize / データの取得と前処理
#
# Tutorial sections II.A.1-3. The pipeline `zoo data prepare` runs on the built-in corpus (CPython's own
# documentation, so nothing is downloaded); each stage's numbers land in `report.json`.
#
# チュートリアル II.A.1〜3。組み込みコーパスで `zoo data prepare` を動かし、各段階で何がなぜ削除されたかを見ます。

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
# ## The whole pipeline / パイプライン全体
#
# Acquire -> clean (HTML to text, mojibake repair, NFKC) -> quality filter -> exact and MinHash deduplication
# -> SentencePiece tokenizer. The same from a terminal: `zoo data prepare --name notebook`.

# %%
import json

from zoo.data.prepare import PrepareConfig, prepare_corpus

prepared = prepare_corpus(config=PrepareConfig(name="notebook"), progress=False)
report = json.load(open(prepared["report"]))
for stage in report["stages"]:
    print(
        f"{stage['stage']:10s} docs {stage['docs_in']} -> {stage['docs_out']}  bytes -> {stage['bytes_out']}  {stage['reasons']}"
    )
print(json.dumps(report["corpus"], indent=1)[:600])

# %% [markdown]
# ## II.A.2 Why a document is dropped / 文書が削除される理由
#
# Every rule returns a reason; a document passes when none fires. Japanese is judged on characters and
# 。-sentences, not on words.

# %%
from zoo.data.filters import FilterConfig, document_reason

samples = {
    "too short": "Hello there.",
    "repeated lines": "Buy now!\n" * 40,
    "prose": " ".join(["The interpreter reads a file, compiles it to bytecode and runs the result."] * 3)
    + " Names are bound in the innermost scope that assigns them, unless declared global or nonlocal there.",
    "日本語": "このコマンドはファイルを読み込み、指定された形式に変換して標準出力に書き出します。"
    "オプションを指定しない場合は、既定の設定が使われます。詳しくは設定ファイルの説明を参照してください。" * 2,
}
for name, text in samples.items():
    print(f"{name:15s} -> {document_reason(text, FilterConfig()) or 'kept'}")

# %% [markdown]
# ## II.A.3 How each tokenizer cuts a sentence / トークナイザーごとの分割
#
# Four kinds trained on the prepared corpus with a small vocabulary; the same sentence in each.
# `zoo data tokenizer CORPUS --show "..."` prints the same from a terminal.

# %%
from zoo.data.pipelines import corpus_texts
from zoo.data.tokenizer import token_pieces, train_tokenizer

texts = corpus_texts(prepared["output"])
sentence = "Tokenizers split unbelievable words into pieces."
for kind in ("sentencepiece-unigram", "sentencepiece-bpe", "wordpiece", "byte-bpe"):
    tokenizer = train_tokenizer(texts, kind=kind, vocab_size=1000)
    print(f"{kind:22s} {token_pieces(tokenizer, sentence)}")
