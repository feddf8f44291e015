"""End to end on imported checkpoints: fine-tuning recipes, LoRA + int8, SavedModel export, zoo explain."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.checkpoints import writers
from tests.checkpoints.conftest import copy_tokenizer
from zoo import from_pretrained
from zoo.checkpoints.run_folder import import_checkpoint

QUICK = ["--verbose", "0", "--batch-size", "16", "--seq-len", "32"]


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory, tokenizer_folders):
    root = tmp_path_factory.mktemp("bert")
    copy_tokenizer(tokenizer_folders, "wordpiece", root / "hf")
    writers.write_hf_bert(root / "hf", 400)
    return import_checkpoint(root / "hf", out=root / "run")


def _results(runs):
    (run,) = [p for p in Path(runs).iterdir() if p.is_dir()]
    return json.loads((run / "results.json").read_text())


def test_finetune_sentiment_from_an_imported_bert(bert_run, tmp_path):
    from zoo.cli import load_recipe

    finetune_sentiment = load_recipe("finetune-sentiment")
    argv = [*QUICK, "--pretrained", str(bert_run), "--steps", "4", "--epochs", "1", "--runs-dir", str(tmp_path)]
    assert finetune_sentiment.main(argv) == 0
    results = _results(tmp_path)
    assert results["start"]["init"] == "pretrained" and results["start"]["pretrained_task"] == "MaskedLM"
    assert 0.0 <= results["eval"]["accuracy"] <= 1.0


def test_finetune_qa_from_an_imported_bert(bert_run, tmp_path):
    from zoo.cli import load_recipe

    finetune_qa = load_recipe("finetune-qa")
    argv = [
        *QUICK,
        "--seq-len",
        "64",
        "--pretrained",
        str(bert_run),
        "--steps",
        "3",
        "--epochs",
        "1",
        "--runs-dir",
        str(tmp_path),
    ]
    assert finetune_qa.main(argv) == 0
    results = _results(tmp_path)
    assert results["start"]["init"] == "pretrained"
    assert {"exact_match", "f1"} <= set(results["eval"])


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory, tokenizer_folders):
    folder = tmp_path_factory.mktemp("llama") / "hf"
    sp = copy_tokenizer(tokenizer_folders, "sentencepiece", folder)
    writers.write_hf_llama(folder, sp.get_piece_size(), kv_heads=2)
    return folder


def test_lora_then_int8_on_an_imported_llama(llama_folder):
    from zoo.compress.keras_quantize import quantize_model
    from zoo.compress.lora import enable_lora

    model = from_pretrained(llama_folder, compile=False)
    before = {v.path: v.numpy().copy() for v in model.backbone.weights}
    report = enable_lora(model, rank=2)
    # The SwiGLU gate is adapted too: 2 attention + 3 feed-forward matrices per block.
    assert len(report["layers"]) == 5 * model.llm_config.num_layers
    model.compile(learning_rate=1e-2)
    ids = np.asarray(model.tokenizer.tokenize(writers.ENGLISH * 2))[None, :33].astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}
    history = model.fit({k: np.repeat(v, 4, 0) for k, v in x.items()}, np.repeat(ids[:, 1:], 4, 0), epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The frozen weights did not move (LoRA trains only its factors).
    for variable in model.backbone.weights:
        if variable.path in before:
            np.testing.assert_array_equal(before[variable.path], variable.numpy())
    float_logits = np.asarray(model(x))
    quantize_model(model, "int8")
    int8_logits = np.asarray(model(x))
    # int8 weights: logits move a little, the greedy next token mostly stays.
    agreement = np.mean(float_logits.argmax(-1) == int8_logits.argmax(-1))
    assert agreement >= 0.8 and np.abs(float_logits - int8_logits).max() < 0.5 * np.abs(float_logits).max()
    assert isinstance(model.generate("The quick", max_length=16), str)


def test_export_an_imported_gpt2_matches_keras_greedy(tmp_path, tokenizer_folders):
    import tensorflow as tf

    from zoo.export.saved_model import export_saved_model

    folder = tmp_path / "gpt2"
    copy_tokenizer(tokenizer_folders, "bpe", folder)
    writers.write_hf_gpt2(folder, 400)
    model = from_pretrained(folder, compile=False)
    result = export_saved_model(model, output=str(tmp_path / "saved_models"), name="gpt2")
    assert all(d == 0 for d in result.max_abs_diff["generate"].values())
    loaded = tf.saved_model.load(result.path)
    prompts = [[int(t) for t in model.tokenizer.tokenize(text)][:6] for text in (writers.ENGLISH, writers.JAPANESE)]
    out = loaded.signatures["generate"](
        prompt_ids=tf.constant(prompts, tf.int32),
        max_new_tokens=tf.constant([5, 5]),
        temperature=tf.constant([0.0, 0.0]),
    )
    expected = model.generate(prompts, max_new_tokens=5, use_cache=False)
    assert out["generated_ids"].numpy().tolist() == expected


def test_explain_reads_an_imported_config(bert_run, capsys):
    from zoo.llm import load_llm
    from zoo.llm.config import LLMConfig
    from zoo.llm.sizing.explain import count_parameters, main

    model = load_llm(bert_run / "model.keras", compile=False)
    kind = json.loads((bert_run / "config.json").read_text())["kind"]
    assert count_parameters(LLMConfig.load(bert_run / "config.json"), kind)["total"] == model.count_params()
    main([str(bert_run / "config.json")])
    assert f"{model.count_params():,} parameters" in capsys.readouterr().out


def test_retrieval_store_from_an_imported_bert(bert_run, tmp_path):
    """`zoo retrieve build --model <imported run>`: the checkpoint's tokenizer cuts passages, its encoder embeds them."""
    from zoo.cli import main

    (tmp_path / "docs.txt").write_text("\n\n".join(writers.TEXTS[:8]), encoding="utf-8")
    store = tmp_path / "store"
    assert (
        main(
            [
                "retrieve",
                "build",
                str(tmp_path / "docs.txt"),
                "--out",
                str(store),
                "--model",
                str(bert_run),
                "--window",
                "16",
                "--stride",
                "8",
            ]
        )
        == 0
    )
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["passages"] > 0 and (store / "vectors.npy").is_file()
    assert main(["retrieve", "query", str(store), "quick brown fox", "-k", "1"]) == 0
