"""Attention options live with their kind; configs, models and checkpoints saved with the
old flat fields (attention_window, ..., lsh_num_hashes) and the old module paths still load."""

import argparse
import json
import zipfile

import numpy as np
import pytest

from zoo.llm.attention.args import add_attention_args, attention_overrides
from zoo.llm.attention.options import LSHOptions, SlidingWindowOptions
from zoo.llm.config import LLMConfig
from zoo.llm.models.factory import resolve_config

# An LLMConfig dict exactly as the version before attention_options wrote it (config.json,
# .keras files, checkpoint state): all ten flat attention fields, whatever the kind.
OLD_CONFIG = {
    "vocab_size": 32,
    "max_length": 12,
    "num_layers": 1,
    "hidden_dim": 8,
    "num_heads": 2,
    "intermediate_dim": 16,
    "num_decoder_layers": None,
    "dropout": 0.0,
    "norm": "pre",
    "position": "learned",
    "tie_embeddings": True,
    "activation": "gelu",
    "attention": "sliding_window",
    "layer_norm_epsilon": 1e-05,
    "embedding_norm": False,
    "scale_embeddings": False,
    "num_segments": 0,
    "next_sentence_prediction": False,
    "use_bias": True,
    "rotary_max_wavelength": 10000.0,
    "attention_window": 3,
    "global_tokens": 1,
    "block_size": 4,
    "local_blocks": 1,
    "global_blocks": 1,
    "block_stride": 0,
    "axial_row_length": 64,
    "lsh_chunk_size": 64,
    "lsh_num_buckets": 8,
    "lsh_num_hashes": 2,
    "reversible": False,
}
NEW_OPTIONS = {"window": 3, "global_tokens": 1, "block_size": 4}


def test_old_flat_config_dict_loads_into_the_kinds_options(tmp_path):
    config = LLMConfig.from_config(OLD_CONFIG)
    assert config.attention == "sliding_window"
    assert config.attention_options == SlidingWindowOptions(**NEW_OPTIONS)
    assert LLMConfig(**OLD_CONFIG) == config
    # The new form has no flat fields and round-trips through JSON.
    saved = config.get_config()
    assert saved["attention_options"] == NEW_OPTIONS and "attention_window" not in saved
    assert LLMConfig.from_config(json.loads(json.dumps(saved))) == config
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kind": "causal", **OLD_CONFIG}))
    assert LLMConfig.load(path) == config


def test_old_flat_fields_of_other_kinds_are_dropped():
    old = dict(OLD_CONFIG, attention="lsh", lsh_num_hashes=4)
    assert LLMConfig.from_config(old).attention_options == LSHOptions(chunk_size=64, num_buckets=8, num_hashes=4)
    assert LLMConfig.from_config(dict(OLD_CONFIG, attention="full")).get_config()["attention_options"] == {}


def test_old_keras_file_loads_with_the_same_outputs(tmp_path):
    """A .keras file whose config.json is in the old layout (flat fields, old module paths)."""
    import keras

    from zoo.llm import build_llm, load_llm

    model = build_llm("causal", config=OLD_CONFIG, compile=False)
    ids = np.array([[3, 5, 7, 9, 11, 13, 2, 4, 6, 8], [1, 2, 3, 4, 5, 6, 7, 0, 0, 0]], "int32")
    x = {"token_ids": ids, "padding_mask": (ids > 0).astype("int32")}
    new_file, old_file = tmp_path / "new.keras", tmp_path / "old.keras"
    model.save(new_file)
    with zipfile.ZipFile(new_file) as source, zipfile.ZipFile(old_file, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                saved = json.loads(data)
                saved["module"] = "zoo.llm.tasks"
                saved["config"]["backbone"]["module"] = "zoo.llm.backbone"
                assert saved["config"]["backbone"]["config"]["config"]["attention_options"] == NEW_OPTIONS
                saved["config"]["backbone"]["config"]["config"] = OLD_CONFIG
                data = json.dumps(saved).encode()
            target.writestr(item, data)
    loaded = load_llm(old_file)
    assert loaded.llm_config == model.llm_config
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert keras.saving.load_model(old_file).llm_config.attention_options.window == 3


def test_old_checkpoint_state_still_resumes():
    from zoo.train.checkpoints import check_resumable

    this_run = LLMConfig.from_config(OLD_CONFIG).get_config()
    check_resumable({"kind": "causal", "config": OLD_CONFIG, "folder": "ckpt"}, this_run)
    with pytest.raises(ValueError, match="attention_options"):
        check_resumable({"kind": "causal", "config": dict(OLD_CONFIG, attention_window=5), "folder": "ckpt"}, this_run)


def test_options_object_names_the_kind():
    config = LLMConfig(attention=LSHOptions(num_hashes=4))
    assert config.attention == "lsh" and config.attention_options.num_hashes == 4
    assert config == LLMConfig(attention="lsh", attention_options={"num_hashes": 4})
    with pytest.raises(ValueError, match="takes SlidingWindowOptions, got LSHOptions"):
        LLMConfig(attention="sliding_window", attention_options=LSHOptions())


def test_replace_merges_options_and_a_new_kind_starts_from_its_defaults():
    config = LLMConfig(attention="sliding_window", attention_options={"window": 16, "block_size": 8})
    assert config.replace(attention_options={"global_tokens": 2}).attention_options == SlidingWindowOptions(16, 2, 8)
    assert config.replace(attention="lsh").attention_options == LSHOptions()
    # The old flat names still work as overrides (build_llm keywords, zoo explain --set).
    assert config.replace(attention_window=32).attention_options == SlidingWindowOptions(32, 0, 8)
    assert resolve_config("tiny", attention="lsh", lsh_num_hashes=3).attention_options.num_hashes == 3


def test_command_line_flags_keep_their_names_and_the_preset_keeps_the_rest():
    parser = argparse.ArgumentParser()
    add_attention_args(parser)
    options = dict(block_size=16, global_blocks=2)
    base = resolve_config("tiny").replace(attention="block_sparse", attention_options=options)
    args = parser.parse_args(["--local-blocks", "3"])
    options = base.replace(**attention_overrides(args)).attention_options
    assert (options.block_size, options.local_blocks, options.global_blocks) == (16, 3, 2)
    args = parser.parse_args(["--attention", "sliding_window", "--attention-window", "64", "--block-size", "16"])
    assert base.replace(**attention_overrides(args)).attention_options == SlidingWindowOptions(64, 0, 16)
    # A flag of another kind is an error that names the kinds that have it.
    with pytest.raises(ValueError, match="attention 'full' has no option 'row_length'.*Kinds with 'row_length': axial"):
        resolve_config("tiny").replace(**attention_overrides(parser.parse_args(["--axial-row-length", "8"])))


def test_explain_sizes_options_and_old_set_flags(capsys):
    from zoo.llm.sizing.explain import attended_keys, main

    config = LLMConfig(max_length=8192, attention="sliding_window", attention_options={"window": 256, "block_size": 64})
    # (ceil(255 / 64) + 1) blocks of 64 keys, causal.
    assert attended_keys(config, 8192) == 5 * 64
    assert main(["tiny", "--set", "attention=axial", "--set", "axial_row_length=16", "--json"]) in (0, None)
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["attention_options"] == {"row_length": 16}


def test_a_kind_registered_by_user_code_builds_saves_and_loads(tmp_path, monkeypatch):
    """The example of CONTRIBUTING.md ("How to add an attention kind"): options + layer, registered together."""
    import dataclasses
    import math

    import keras
    from keras import ops

    from zoo.llm import build_llm, load_llm
    from zoo.llm.attention import options as options_module
    from zoo.llm.attention import registry
    from zoo.llm.attention.full import MultiHeadAttention
    from zoo.llm.attention.options import AttentionOptions
    from zoo.llm.sizing.explain import attended_keys

    # Registered for this test only.
    monkeypatch.setattr(registry, "_ATTENTION_KINDS", dict(registry._ATTENTION_KINDS))
    monkeypatch.setattr(options_module, "_OPTIONS", dict(options_module._OPTIONS))

    @dataclasses.dataclass(frozen=True)
    class DilatedOptions(AttentionOptions):
        dilation: int = 2

        def check(self):
            if not isinstance(self.dilation, int) or self.dilation < 1:
                raise ValueError(f"dilation must be an integer >= 1, got {self.dilation!r}.")

        def attended_keys(self, seq_len, causal, max_length):
            return math.ceil(seq_len / self.dilation)

    @keras.saving.register_keras_serializable(package="zoo_test")
    @registry.register_attention("dilated", options=DilatedOptions)
    class DilatedAttention(MultiHeadAttention):
        def __init__(self, num_heads, head_dim, dilation=2, **kwargs):
            super().__init__(num_heads, head_dim, **kwargs)
            self.dilation = dilation

        def attention_mask(self, query_positions, key_positions):
            distance = ops.expand_dims(query_positions, 1) - ops.expand_dims(key_positions, 0)
            mask = ops.equal(distance % self.dilation, 0)
            base = super().attention_mask(query_positions, key_positions)
            return mask if base is None else ops.logical_and(mask, base)

        def get_config(self):
            return {**super().get_config(), "dilation": self.dilation}

    assert registry.attention_kinds()[-1] == "dilated"
    positions = np.arange(6)
    mask = np.asarray(DilatedAttention(1, 2, dilation=2, causal=True).attention_mask(positions, positions))
    expected = (positions[:, None] >= positions[None, :]) & ((positions[:, None] - positions[None, :]) % 2 == 0)
    np.testing.assert_array_equal(mask, expected)

    config = dict(OLD_CONFIG, attention="dilated")  # its flat fields belong to other kinds and are dropped
    model = build_llm("causal", config=dict(config, attention_options={"dilation": 3}), compile=False)
    assert model.llm_config.attention_options == DilatedOptions(3)
    assert attended_keys(model.llm_config, 12) == 4
    ids = np.array([[3, 5, 7, 9, 11, 13, 2, 4]], "int32")
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
    model.save(tmp_path / "dilated.keras")
    np.testing.assert_allclose(np.asarray(load_llm(tmp_path / "dilated.keras")(x)), np.asarray(model(x)), atol=1e-6)
    # Dilation 1 sees every earlier key: the same logits as full attention with the same weights.
    one = build_llm("causal", config=dict(config, attention_options={"dilation": 1}), compile=False)
    full = build_llm("causal", config=dict(config, attention="full"), compile=False)
    full.set_weights(one.get_weights())
    np.testing.assert_allclose(np.asarray(one(x)), np.asarray(full(x)), atol=1e-6)
    with pytest.raises(ValueError, match="dilation must be an integer >= 1"):
        LLMConfig(attention="dilated", attention_options={"dilation": 0})
