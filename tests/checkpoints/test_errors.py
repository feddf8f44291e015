"""Bad checkpoints: each problem is one line that names it, and nothing is half-written."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tests.checkpoints import writers
from tests.checkpoints.conftest import copy_tokenizer
from zoo import from_pretrained, save_pretrained
from zoo.checkpoints import CheckpointError


@pytest.fixture
def gpt2_folder(tmp_path, tokenizer_folders):
    folder = tmp_path / "gpt2"
    copy_tokenizer(tokenizer_folders, "bpe", folder)
    writers.write_hf_gpt2(folder, 400)
    return folder


def _one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


def test_unsupported_architecture_is_named_with_the_supported_ones(gpt2_folder):
    config = json.loads((gpt2_folder / "config.json").read_text())
    (gpt2_folder / "config.json").write_text(json.dumps({**config, "model_type": "t5"}))
    with pytest.raises(CheckpointError) as error:
        from_pretrained(gpt2_folder)
    message = _one_line(error)
    assert "'t5' is not supported" in message and "gpt2, bert, llama, qwen2" in message


def test_unsupported_keras_hub_backbone(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"class_name": "T5Backbone", "config": {}}))
    with pytest.raises(CheckpointError, match="'T5Backbone' is not supported; supported: GPT2Backbone, BertBackbone"):
        from_pretrained(tmp_path)


def test_missing_tensors_are_named(gpt2_folder):
    tensors = load_file(str(gpt2_folder / "model.safetensors"))
    for name in ("transformer.h.1.mlp.c_fc.weight", "transformer.ln_f.bias", "transformer.h.0.ln_2.bias"):
        del tensors[name]
    save_file(tensors, str(gpt2_folder / "model.safetensors"))
    with pytest.raises(CheckpointError) as error:
        from_pretrained(gpt2_folder)
    message = _one_line(error)
    assert "3 tensor(s) missing" in message
    assert "transformer.h.1.mlp.c_fc.weight" in message and "transformer.ln_f.bias" in message


def test_shape_that_does_not_match_the_config(gpt2_folder):
    config = json.loads((gpt2_folder / "config.json").read_text())
    (gpt2_folder / "config.json").write_text(json.dumps({**config, "n_positions": 32}))
    with pytest.raises(CheckpointError) as error:
        from_pretrained(gpt2_folder)
    assert "transformer.wpe.weight (64, 16) (config implies (32, 16))" in _one_line(error)


def test_tokenizer_bigger_than_the_embedding(tmp_path, tokenizer_folders):
    folder = tmp_path / "gpt2"
    tok = copy_tokenizer(tokenizer_folders, "bpe", folder)
    writers.write_hf_gpt2(folder, tok.get_vocab_size() - 10)
    with pytest.raises(CheckpointError) as error:
        from_pretrained(folder)
    assert (
        f"the tokenizer has {tok.get_vocab_size()} tokens but the embedding has {tok.get_vocab_size() - 10}"
        in _one_line(error)
    )


def test_no_weights_and_no_config(tmp_path, gpt2_folder):
    (gpt2_folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        from_pretrained(gpt2_folder)
    with pytest.raises(CheckpointError, match="no config.json"):
        from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not a folder"):
        from_pretrained(tmp_path / "nowhere")


def test_failed_save_leaves_the_old_folder_and_no_temporary_files(tmp_path, gpt2_folder):
    from zoo.llm import build_llm

    model = from_pretrained(gpt2_folder)
    out = tmp_path / "out"
    save_pretrained(model, out, format="hf")
    before = sorted(p.name for p in out.iterdir())
    seq2seq = build_llm("seq2seq", "tiny", num_layers=1, compile=False)
    with pytest.raises(CheckpointError, match="cannot save a Seq2SeqLM"):
        save_pretrained(seq2seq, out, format="hf")
    # A tokenizer that does not fit the embedding is refused before anything is written.
    small = from_pretrained(gpt2_folder, tokenizer=False)
    with pytest.raises(CheckpointError, match="the tokenizer has"):
        save_pretrained(build_llm("causal", "tiny", vocab_size=100, compile=False), out, tokenizer=model.tokenizer)
    assert sorted(p.name for p in out.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt2", "out"]
    np.testing.assert_allclose(from_pretrained(out)(_x()), small(_x()), atol=1e-5)


def _x():
    return {"token_ids": np.array([[1, 2, 3]]), "padding_mask": np.ones((1, 3), "int32")}
