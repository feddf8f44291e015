"""The LLM compression recipes on an imported checkpoint: `zoo import`, then `zoo compress lora / quantize-llm`.

The corpus folder has its own zoo tokenizer; the imported Llama-family run brings a
SentencePiece one. The recipes must read the corpus in the checkpoint's ids: the
held-out windows are rebuilt here with the `sentencepiece` library (<s> text </s> per
document), independently of zoo's pipeline, and the recipes' perplexities of the
untouched model must be the ones measured on those windows.
"""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.checkpoints import writers
from tests.checkpoints.conftest import copy_tokenizer
from zoo import cli

SEQ_LEN, BATCH = 32, 4
CORPUS_VOCAB = 400
QUICK = ["--seq-len", str(SEQ_LEN), "--batch-size", str(BATCH), "--verbose", "0", "--no-tensorboard"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A corpus folder like `zoo data prepare` writes (shards + its own zoo tokenizer)."""
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.document import Document, document_id
    from zoo.data.shards import write_shards
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    # 40 documents of 900 characters: three of them fall in the held-out split, so windows cross documents.
    texts = [text[:900] for text in load_builtin_corpus()[:40]]
    folder = tmp_path_factory.mktemp("corpus")
    write_shards([Document(id=document_id("test", t), text=t, source="test") for t in texts], folder / "shards")
    save_tokenizer(train_tokenizer(texts, vocab_size=CORPUS_VOCAB), folder / "tokenizer")
    return folder


@pytest.fixture(scope="module")
def llama(tmp_path_factory, tokenizer_folders):
    """(run folder from `zoo import`, the checkpoint folder, its sentencepiece processor)."""
    root = tmp_path_factory.mktemp("llama-import")
    sp = copy_tokenizer(tokenizer_folders, "sentencepiece", root / "hf")
    writers.write_hf_llama(root / "hf", sp.get_piece_size(), kv_heads=2)
    assert cli.main(["import", str(root / "hf"), "--out", str(root / "run")]) == 0
    return root / "run", root / "hf", sp


def _results(runs):
    (run,) = [p for p in Path(runs).iterdir() if p.is_dir()]
    return run, json.loads((run / "results.json").read_text())


def _reference_windows(corpus, sp, split="validation"):
    """Windows of a corpus split in the checkpoint's ids, built with the sentencepiece library alone."""
    from zoo.data.pipelines import split_documents

    train_texts, val_texts = split_documents(corpus, 0.1, seed=0)
    ids = []
    for text in val_texts if split == "validation" else train_texts:
        ids += [sp.bos_id(), *sp.encode(text), sp.eos_id()]
    count = len(ids) // (SEQ_LEN + 1)
    count -= count % BATCH  # the pipeline drops the last partial batch
    windows = np.asarray(ids[: count * (SEQ_LEN + 1)], "int32").reshape(count, SEQ_LEN + 1)
    return windows[:, :-1], windows[:, 1:]


def test_lora_from_an_imported_llama(llama, corpus, tmp_path):
    from zoo import from_pretrained
    from zoo.compress.keras_quantize import perplexity

    run, hf, sp = llama
    argv = [
        "compress",
        "lora",
        "--from",
        str(run),
        "--data",
        str(corpus),
        *QUICK,
        "--rank",
        "4",
        "--lora-steps",
        "30",
        "--lora-learning-rate",
        "1e-2",
        "--no-compare-full",
        "--runs-dir",
        str(tmp_path),
    ]
    assert cli.main(argv) == 0
    out, results = _results(tmp_path)
    assert results["tokenizer"] == str(run / "tokenizer")
    # The untouched model's perplexity is the one on the checkpoint-tokenized held-out half.
    x, y = _reference_windows(corpus, sp)
    half = len(x) // 2
    assert results["eval_windows"] == len(x) - half
    reference = perplexity(from_pretrained(hf, compile=False), x[half:], y[half:])
    assert results["base_perplexity"] == pytest.approx(reference, rel=1e-4)
    # LoRA on the other half lowers held-out perplexity; merging the adapters changes nothing.
    assert math.isfinite(results["lora_perplexity"]) and results["lora_perplexity"] < 0.9 * results["base_perplexity"]
    assert results["merged_perplexity"] == pytest.approx(results["lora_perplexity"], rel=1e-3)
    assert 0 < results["trainable_params"] < results["total_params"]
    assert results["merged_params"] == results["base_params"]
    # The run folder keeps the checkpoint's tokenizer, so it is a starting point itself.
    assert json.loads((out / "tokenizer" / "tokenizer.json").read_text())["kind"] == "checkpoint"


def test_int8_from_an_imported_llama(llama, corpus, tmp_path):
    from zoo import from_pretrained
    from zoo.compress.keras_quantize import perplexity

    run, hf, sp = llama
    argv = [
        "compress",
        "quantize-llm",
        "--from",
        str(run),
        "--data",
        str(corpus),
        *QUICK,
        "--modes",
        "int8",
        "--eval-windows",
        "24",
        "--runs-dir",
        str(tmp_path),
    ]
    assert cli.main(argv) == 0
    _, results = _results(tmp_path)
    float_row, int8_row = results["rows"]
    x, y = _reference_windows(corpus, sp)
    assert results["eval_windows"] == 24
    assert float_row["perplexity"] == pytest.approx(
        perplexity(from_pretrained(hf, compile=False), x[:24], y[:24]), rel=1e-4
    )
    # int8 weights (absmax per output channel) keep perplexity within 5% of float32 on the same windows.
    assert int8_row["mode"] == "int8" and math.isfinite(int8_row["perplexity"])
    assert abs(int8_row["perplexity_ratio"] - 1) < 0.05
    assert int8_row["size_bytes"] < float_row["size_bytes"]


def test_errors_name_the_fix(llama, corpus, tmp_path, capsys):
    run, hf, sp = llama
    # A bare model.keras without its tokenizer falls back to the corpus's, which does not fit its embedding.
    bare = tmp_path / "bare" / "model.keras"
    bare.parent.mkdir()
    shutil.copy(run / "model.keras", bare)
    assert sp.get_piece_size() != CORPUS_VOCAB
    base = [
        "compress",
        "quantize-llm",
        "--data",
        str(corpus),
        *QUICK,
        "--modes",
        "int8",
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    cases = [
        (bare, f"has vocab_size {sp.get_piece_size()} but the tokenizer of {corpus} has {CORPUS_VOCAB}"),
        (hf, "is a checkpoint folder, not a run folder; turn it into one with `zoo import"),
        (tmp_path / "nothing", "does not exist"),
    ]
    for source, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*base[:2], "--from", str(source), *base[2:]])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    with pytest.raises(SystemExit):
        cli.main([*base[:2], "--from", str(run), *base[2:], "--seq-len", "128"])
    assert "--seq-len 128 is longer than" in capsys.readouterr().err


def test_windows_are_in_the_checkpoint_ids_and_zoo_runs_keep_the_corpus_tokenizer(llama, corpus, tmp_path):
    from zoo.compress.llm_source import load_or_train, source_tokenizer
    from zoo.data.corpus import corpus_windows
    from zoo.data.tokenizer import load_tokenizer, save_tokenizer
    from zoo.llm import build_llm

    run, _, sp = llama
    own, origin = source_tokenizer(run, corpus, log=lambda line: None)
    assert origin == str(run / "tokenizer")
    (train_x, _), (x, y), _ = corpus_windows(corpus, SEQ_LEN, BATCH, tokenizer=own)
    reference_x, reference_y = _reference_windows(corpus, sp)
    np.testing.assert_array_equal(x, reference_x)
    np.testing.assert_array_equal(y, reference_y)
    np.testing.assert_array_equal(train_x, _reference_windows(corpus, sp, "train")[0])
    # Documents inside the windows end with the checkpoint's </s> and start with its <s>, not zoo's 6 and 5.
    assert (x == sp.eos_id()).sum() >= 2 and (x[:, 1:] == sp.bos_id()).sum() >= 2
    # A zoo run trained on this corpus holds a copy of its tokenizer: the corpus's own is used, as before,
    # and its windows are the ones the corpus tokenizer gives (no <s> added for zoo tokenizers).
    zoo_run = tmp_path / "pretrain-clm"
    corpus_tokenizer = load_tokenizer(corpus / "tokenizer")
    save_tokenizer(corpus_tokenizer, zoo_run / "tokenizer")
    model = build_llm("causal", "tiny", vocab_size=CORPUS_VOCAB, max_length=SEQ_LEN, compile=False)
    model.save(zoo_run / "model.keras")
    assert source_tokenizer(zoo_run, corpus) == (None, None)
    assert source_tokenizer(zoo_run / "model.keras", corpus) == (None, None)
    train, val, tokenizer = corpus_windows(corpus, SEQ_LEN, BATCH)
    _, explicit, _ = corpus_windows(corpus, SEQ_LEN, BATCH, tokenizer=corpus_tokenizer)
    np.testing.assert_array_equal(val[0], explicit[0])
    loaded, history = load_or_train(zoo_run, train, tokenizer, seq_len=SEQ_LEN, data=corpus)
    assert history is None and loaded.llm_config.vocab_size == CORPUS_VOCAB


def test_check_vocabulary_allows_spare_embedding_rows_for_a_checkpoint_tokenizer(llama):
    from types import SimpleNamespace

    from zoo.compress.llm_source import check_vocabulary
    from zoo.data.tokenizer import load_tokenizer
    from zoo.errors import UsageError

    run, _, sp = llama
    tokenizer = load_tokenizer(run / "tokenizer")
    size = sp.get_piece_size()

    def model(vocab):
        return SimpleNamespace(llm_config=SimpleNamespace(vocab_size=vocab))

    check_vocabulary(model(size), tokenizer, "run", str(run / "tokenizer"))
    check_vocabulary(model(size + 92), tokenizer, "run", str(run / "tokenizer"))  # Qwen2 pads its embedding
    with pytest.raises(UsageError, match=f"embeds {size - 1} tokens but its tokenizer .* has {size}"):
        check_vocabulary(model(size - 1), tokenizer, "run", str(run / "tokenizer"))
