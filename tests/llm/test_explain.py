"""`zoo explain` counts against built models, the papers' parameter counts, and the CLI."""

import json

import numpy as np
import pytest

from zoo.llm import LLMConfig, build_llm, get_preset
from zoo.llm.sizing.explain import PARTS, count_parameters, explain, flops_per_token, main, memory_bytes

from .test_models import CASES, build

HEAD_LAYERS = ("mlm_head", "pooler", "nsp_head", "classifier_head", "span_head", "reverse_embeddings")


def parts_of_built_model(model):
    """Parameters of a built model grouped by the part their weight path names."""
    parts = dict.fromkeys(PARTS, 0)
    for weight in model.weights:
        path, size = weight.path, int(np.prod(weight.shape))
        layer = path.split("/")[-2]
        if any(name in path for name in HEAD_LAYERS):
            parts["heads"] += size
        elif "norm" in layer:
            parts["norms"] += size
        elif "attention" in path:
            parts["attention"] += size
        elif "ffn" in path:
            parts["ffn"] += size
        elif "embedding" in path:
            parts["embeddings"] += size
        else:
            raise AssertionError(f"weight {path} belongs to no part")
    parts["total"] = sum(parts.values())
    return parts


@pytest.mark.parametrize("case", list(CASES))
def test_counts_by_part_match_the_built_model(case):
    kind, overrides, options, _ = CASES[case]
    model = build(case, compile=False)
    config = model.llm_config
    expected = count_parameters(
        config, kind, num_classes=options.get("num_classes", 2), backbone=options.get("backbone_type")
    )
    assert parts_of_built_model(model) == expected
    assert model.count_params() == expected["total"]


# The papers' models, derived by hand from their architectures (d = width, f = FFN width).
def _gpt2_small():
    d, f, vocab, context, layers = 768, 3072, 50257, 1024, 12
    block = (4 * d * d + 4 * d) + (2 * d * f + f + d) + 2 * 2 * d  # attention + MLP + 2 LayerNorms
    return vocab * d + context * d + layers * block + 2 * d  # tied output, final LayerNorm


def _bert_base():
    d, f, vocab, positions, layers = 768, 3072, 30522, 512, 12
    embeddings = vocab * d + positions * d + 2 * d + 2 * d  # tokens, positions, 2 segments, LayerNorm
    block = (4 * d * d + 4 * d) + (2 * d * f + f + d) + 2 * 2 * d
    mlm = (d * d + d) + 2 * d + vocab  # transform, LayerNorm, output bias (decoder tied)
    nsp = (d * d + d) + (2 * d + 2)  # pooler + classifier
    return embeddings + layers * block + mlm + nsp


def _transformer_base():
    d, f, vocab, layers = 512, 2048, 37000, 6
    attention, ffn, norm = 4 * d * d + 4 * d, 2 * d * f + f + d, 2 * d
    encoder = layers * (attention + ffn + 2 * norm)
    decoder = layers * (2 * attention + ffn + 3 * norm)
    return vocab * d + encoder + decoder  # one shared embedding, sinusoidal positions


@pytest.mark.parametrize(
    "preset, kind, derive, paper",
    [
        ("gpt2_small", "causal", _gpt2_small, 124_439_808),
        ("bert_base", "masked", _bert_base, 110_106_428),
        ("transformer_base", "seq2seq", _transformer_base, 63_082_496),
    ],
)
def test_published_presets_have_the_papers_parameter_counts(preset, kind, derive, paper):
    assert derive() == paper
    assert count_parameters(get_preset(preset), kind)["total"] == paper
    model = build_llm(kind, preset, compile=False)
    assert model.count_params() == paper
    del model


def test_flops_follow_the_transformer_arithmetic():
    config = get_preset("gpt2_small")
    d, layers, vocab, seq = 768, 12, 50257, 1024
    flops = flops_per_token(config, "causal", seq_len=seq)
    matmul_params = layers * (4 * d * d + 2 * d * 3072)
    assert flops["forward"] == 2 * matmul_params + layers * 4 * seq * d + 2 * d * vocab
    assert flops["training"] == 3 * flops["forward"]
    # Longer context costs more attention FLOPs; nothing else changes.
    assert flops_per_token(config, seq_len=512)["forward"] == flops["forward"] - layers * 4 * 512 * d


def test_memory_scales_with_batch_and_precision():
    config = get_preset("small")
    one = memory_bytes(config, batch_size=1, seq_len=128)
    four = memory_bytes(config, batch_size=4, seq_len=128)
    n = count_parameters(config)["total"]
    assert one["weights"] == four["weights"] == 4 * n
    assert one["optimizer"] == 8 * n and one["gradients"] == 4 * n
    assert four["activations"] == 4 * one["activations"]
    mixed = memory_bytes(config, batch_size=1, seq_len=128, precision="mixed_bfloat16")
    assert mixed["weights"] == one["weights"]  # float32 master weights
    assert mixed["activations"] < one["activations"]
    with pytest.raises(ValueError, match="Unknown precision 'int3'"):
        memory_bytes(config, precision="int3")


def test_compute_optimal_tokens_are_20_per_parameter():
    report = explain(get_preset("gpt2_small"), "causal", batch_size=8, seq_len=1024)
    assert report["compute_optimal_tokens"] == 20 * 124_439_808
    assert report["compute_optimal_training_flops"] == report["flops_per_token"]["training"] * 20 * 124_439_808
    with pytest.raises(ValueError, match="longer than the model's max_length 1024"):
        explain(get_preset("gpt2_small"), seq_len=2048)


def test_cli_json_table_and_config_file(tmp_path, capsys):
    assert main(["gpt2_small", "--json", "--batch-size", "2", "--seq-len", "128"], prog="zoo explain") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters"]["total"] == 124_439_808 and report["batch_size"] == 2

    assert main(["bert_base"], prog="zoo explain") == 0
    table = capsys.readouterr().out
    assert "110,106,428 parameters" in table
    for part in PARTS + ("FLOPs per token", "optimizer (AdamW)", "activations", "Hoffmann"):
        assert part in table

    path = tmp_path / "model.json"
    path.write_text(json.dumps({**LLMConfig(vocab_size=100).get_config(), "kind": "seq2seq"}))
    assert main([str(path), "--json", "--set", "num_layers=3"], prog="zoo explain") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "seq2seq" and report["config"]["num_layers"] == 3
    assert report["parameters"] == count_parameters(LLMConfig(vocab_size=100, num_layers=3), "seq2seq")

    assert main(["--list"], prog="zoo explain") == 0
    assert "transformer_base" in capsys.readouterr().out


def test_cli_errors(capsys):
    assert main(["gpt5"], prog="zoo explain") == 2
    err = capsys.readouterr().err
    assert "Unknown preset 'gpt5'" in err and "gpt2_small" in err
    assert main(["tiny", "--set", "hidden_dim=30"], prog="zoo explain") == 2
    assert "not divisible by num_heads" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--help"], prog="zoo explain")
    assert info.value.code == 0
    assert "usage: zoo explain" in capsys.readouterr().out
