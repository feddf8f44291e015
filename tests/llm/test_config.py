import json

import pytest

from zoo.llm import LLMConfig, build_llm, get_preset, preset_names
from zoo.llm.config import POSITIONS


def test_get_config_round_trips():
    config = LLMConfig(vocab_size=100, hidden_dim=32, num_heads=4, norm="post", position="rotary", dropout=0.1)
    assert LLMConfig.from_config(config.get_config()) == config
    assert LLMConfig.from_config(json.loads(json.dumps(config.get_config()))) == config


def test_save_and_load_json(tmp_path):
    config = get_preset("bert_base")
    path = tmp_path / "bert.json"
    config.save(path)
    assert LLMConfig.load(path) == config


def test_replace_validates_again():
    config = LLMConfig()
    assert config.replace(num_layers=3).num_layers == 3
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        config.replace(hidden_dim=30, num_heads=4)


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(hidden_dim=30, num_heads=4), "hidden_dim=30 is not divisible by num_heads=4"),
        (dict(num_layers=0), "num_layers must be a positive integer"),
        (dict(dropout=1.0), "dropout must be in"),
        (dict(norm="middle"), "Unknown norm 'middle'. Choose one of: pre, post"),
        (dict(position="alibi"), "Choose one of: " + ", ".join(POSITIONS)),
        (dict(activation="tanh"), "Unknown activation"),
        (dict(position="rotary", hidden_dim=12, num_heads=4), "head_dim must be even"),
        (dict(next_sentence_prediction=True), "num_segments=2"),
    ],
)
def test_invalid_configs_raise_clear_errors(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LLMConfig(**fields)


def test_unknown_field_lists_known_fields():
    with pytest.raises(ValueError, match="Unknown LLMConfig field.*hidden_size.*Known fields"):
        LLMConfig.from_config({"hidden_size": 8})


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ValueError) as info:
        build_llm("causal", "gpt3_huge")
    message = str(info.value)
    assert "Unknown preset 'gpt3_huge'" in message
    for name in preset_names():
        assert name in message


def test_unknown_kind_and_override_are_clear():
    with pytest.raises(ValueError, match="Unknown task 'gan'. Choose one of: causal, masked, seq2seq"):
        build_llm("gan", "tiny")
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['layers'\]"):
        build_llm("causal", "tiny", layers=2)
    with pytest.raises(ValueError, match="either preset= or config="):
        build_llm("causal", "tiny", config=LLMConfig())


def test_unknown_attention_kind_lists_known_kinds():
    with pytest.raises(ValueError, match="Unknown attention kind 'sparse'. Known kinds: full"):
        build_llm("causal", "tiny", attention="sparse", num_layers=1)


def test_presets_describe_the_papers():
    gpt2, bert, transformer = get_preset("gpt2_small"), get_preset("bert_base"), get_preset("transformer_base")
    assert (gpt2.num_layers, gpt2.hidden_dim, gpt2.num_heads, gpt2.vocab_size, gpt2.max_length) == (
        12,
        768,
        12,
        50257,
        1024,
    )
    assert gpt2.norm == "pre" and gpt2.position == "learned" and gpt2.activation == "gelu_approximate"
    assert (bert.num_layers, bert.hidden_dim, bert.vocab_size, bert.num_segments) == (12, 768, 30522, 2)
    assert bert.norm == "post" and bert.embedding_norm and bert.next_sentence_prediction
    assert (
        transformer.num_layers,
        transformer.decoder_layers,
        transformer.hidden_dim,
        transformer.intermediate_dim,
    ) == (
        6,
        6,
        512,
        2048,
    )
    assert transformer.position == "sinusoidal" and transformer.activation == "relu" and transformer.scale_embeddings
