"""zoo's from_pretrained against keras-hub's own loaders: same logits (<= 1e-4, float32), same token ids.

Every family is written in both formats: a Hugging Face folder (numpy + safetensors,
tests/checkpoints/writers.py) that keras-hub's `from_preset` converts with its own
transformers converters, and a keras-hub preset that keras-hub's `save_to_preset`
writes from a random keras-hub backbone.
"""

import numpy as np
import pytest

from tests.checkpoints import writers
from tests.checkpoints.conftest import copy_tokenizer
from zoo import from_pretrained

TOL = 1e-4
IDS = np.array([[5, 17, 33, 2, 60, 61, 9], [7, 8, 9, 10, 11, 0, 0]])
MASK = np.array([[1] * 7, [1] * 5 + [0] * 2])


def _inputs(segments=False):
    x = {"token_ids": IDS, "padding_mask": MASK}
    if segments:
        x["segment_ids"] = np.array([[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 0, 0]])
    return x


def _max_diff(a, b, mask=MASK):
    keep = np.asarray(mask, bool)
    return float(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))[keep].max())


def _same_ids(zoo_tokenizer, reference_encode):
    for text in (writers.ENGLISH, writers.JAPANESE):
        assert np.asarray(zoo_tokenizer.tokenize(text)).tolist() == reference_encode(text), text


# --- GPT-2 -------------------------------------------------------------------------------------------


def test_gpt2_hf_folder(tmp_path, tokenizer_folders):
    import keras_hub

    folder = tmp_path / "gpt2"
    tok = copy_tokenizer(tokenizer_folders, "bpe", folder)
    writers.write_hf_gpt2(folder, tok.get_vocab_size())
    model = from_pretrained(folder)
    reference = keras_hub.models.GPT2Backbone.from_preset(str(folder))
    expected = reference.token_embedding(reference(_inputs()), reverse=True)
    assert _max_diff(model(_inputs()), expected) <= TOL
    _same_ids(model.tokenizer, lambda text: tok.encode(text).ids)
    _same_ids(
        model.tokenizer, lambda text: np.asarray(keras_hub.models.GPT2Tokenizer.from_preset(str(folder))(text)).tolist()
    )


def test_gpt2_keras_hub_preset(tmp_path, tokenizer_folders):
    import keras_hub

    source, tok = tokenizer_folders["bpe"]
    folder = tmp_path / "gpt2_kh"
    reference = keras_hub.models.GPT2Backbone(
        vocabulary_size=tok.get_vocab_size(),
        num_layers=2,
        num_heads=4,
        hidden_dim=16,
        intermediate_dim=64,
        max_sequence_length=64,
    )
    _randomize(reference)
    reference.save_to_preset(str(folder))
    kh_tokenizer = keras_hub.models.GPT2Tokenizer(
        vocabulary=str(source / "vocab.json"), merges=str(source / "merges.txt")
    )
    kh_tokenizer.save_to_preset(str(folder))
    model = from_pretrained(folder)
    expected = reference.token_embedding(reference(_inputs()), reverse=True)
    assert _max_diff(model(_inputs()), expected) <= TOL
    _same_ids(model.tokenizer, lambda text: tok.encode(text).ids)


# --- BERT --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("heads", [True, False])
def test_bert_hf_folder(tmp_path, tokenizer_folders, heads):
    import keras_hub

    folder = tmp_path / "bert"
    tok = copy_tokenizer(tokenizer_folders, "wordpiece", folder)
    writers.write_hf_bert(folder, tok.get_vocab_size(), heads=heads)
    reference = keras_hub.models.BertBackbone.from_preset(str(folder))
    expected = reference(_inputs(segments=True))
    # keras-hub's BertBackbone computes tanh-GELU where Hugging Face's BERT uses the exact erf GELU; zoo
    # follows the file (exact), so the comparison with keras-hub switches zoo to keras-hub's approximation.
    # The MLM check below holds the exact form to a numpy computation of the head.
    classifier = from_pretrained(folder, kind="classifier", activation="gelu_approximate")
    sequence = classifier.backbone(_inputs(segments=True))
    assert _max_diff(sequence, expected["sequence_output"]) <= TOL
    pooled = classifier.pooler(sequence[:, 0])
    assert float(np.abs(np.asarray(pooled) - np.asarray(expected["pooled_output"])).max()) <= TOL
    default = from_pretrained(folder)
    assert type(default).__name__ == ("MaskedLM" if heads else "SequenceClassifier")
    if heads:
        assert default.llm_config.next_sentence_prediction
        _check_mlm_head(default, folder)
    # BERT's WordPiece strips the spaces between tokens, so compare ids without [CLS]/[SEP].
    _same_ids(default.tokenizer, lambda text: tok.encode(text, add_special_tokens=False).ids)


def _check_mlm_head(model, folder):
    """The MLM logits equal BERT's head computed in numpy from the file's own tensors."""
    from safetensors.numpy import load_file

    t = load_file(str(folder / "model.safetensors"))
    x = _inputs(segments=True)
    sequence = np.asarray(model.backbone(x))
    h = sequence[:, 1] @ t["cls.predictions.transform.dense.weight"].T + t["cls.predictions.transform.dense.bias"]
    h = 0.5 * h * (1 + _erf(h / np.sqrt(2)))
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-12)
    h = h * t["cls.predictions.transform.LayerNorm.weight"] + t["cls.predictions.transform.LayerNorm.bias"]
    expected = h @ t["bert.embeddings.word_embeddings.weight"].T + t["cls.predictions.bias"]
    out = model({**x, "mask_positions": np.array([[1], [1]])})["mlm"]
    assert float(np.abs(np.asarray(out)[:, 0] - expected).max()) <= TOL


def _erf(x):
    from math import erf

    return np.vectorize(erf)(x)


def test_bert_keras_hub_preset(tmp_path, tokenizer_folders):
    import keras_hub

    source, tok = tokenizer_folders["wordpiece"]
    folder = tmp_path / "bert_kh"
    reference = keras_hub.models.BertBackbone(
        vocabulary_size=tok.get_vocab_size(),
        num_layers=2,
        num_heads=4,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=64,
    )
    _randomize(reference)
    reference.save_to_preset(str(folder))
    keras_hub.models.BertTokenizer(
        vocabulary=str(source / "vocab.txt"), lowercase=True, strip_accents=True
    ).save_to_preset(str(folder))
    model = from_pretrained(folder, kind="classifier")
    expected = reference(_inputs(segments=True))
    sequence = model.backbone(_inputs(segments=True))
    assert _max_diff(sequence, expected["sequence_output"]) <= TOL
    assert float(np.abs(np.asarray(model.pooler(sequence[:, 0])) - np.asarray(expected["pooled_output"])).max()) <= TOL
    _same_ids(model.tokenizer, lambda text: tok.encode(text, add_special_tokens=False).ids)
    kh_tokenizer = keras_hub.models.BertTokenizer.from_preset(str(folder))
    _same_ids(model.tokenizer, lambda text: np.asarray(kh_tokenizer(text)).tolist())


# --- Llama family --------------------------------------------------------------------------------------

LLAMA_VARIANTS = {
    "llama3_gqa_untied": {"model_type": "llama", "kv_heads": 2, "tied": False},
    "llama3_scaled_rope": {
        "model_type": "llama",
        "kv_heads": 1,
        "tied": False,
        "rope_scaling": {
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 16,
        },
    },
    "qwen2_tied": {"model_type": "qwen2", "kv_heads": 2, "tied": True},
}


@pytest.mark.parametrize("variant", sorted(LLAMA_VARIANTS))
def test_llama_family_hf_folder(tmp_path, tokenizer_folders, variant):
    import keras_hub

    folder = tmp_path / variant
    sp = copy_tokenizer(tokenizer_folders, "sentencepiece", folder)
    writers.write_hf_llama(folder, sp.get_piece_size() + 4, **LLAMA_VARIANTS[variant])
    model = from_pretrained(folder)
    reference = keras_hub.models.Backbone.from_preset(str(folder))
    expected = reference.token_embedding(reference(_inputs()), reverse=True)
    assert _max_diff(model(_inputs()), expected) <= TOL
    _same_ids(model.tokenizer, lambda text: sp.encode(text))


def test_llama_keras_hub_preset(tmp_path, tokenizer_folders):
    import keras_hub

    source, sp = tokenizer_folders["sentencepiece"]
    folder = tmp_path / "llama_kh"
    reference = keras_hub.models.LlamaBackbone(
        vocabulary_size=sp.get_piece_size(),
        num_layers=2,
        num_query_heads=4,
        num_key_value_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        rope_max_wavelength=10000.0,
    )
    _randomize(reference)
    reference.save_to_preset(str(folder))
    keras_hub.models.LlamaTokenizer(proto=str(source / "tokenizer.model")).save_to_preset(str(folder))
    model = from_pretrained(folder)
    expected = reference.token_embedding(reference(_inputs()), reverse=True)
    assert _max_diff(model(_inputs()), expected) <= TOL
    _same_ids(model.tokenizer, lambda text: sp.encode(text))


def _randomize(backbone, seed=0):
    """Random values in every weight (norm scales included), so a swapped tensor cannot hide."""
    rng = np.random.default_rng(seed)
    for variable in backbone.weights:
        shape = tuple(variable.shape)
        base = 1.0 if variable.path.endswith(("gamma", "scale")) else 0.0
        variable.assign((base + rng.standard_normal(shape) * 0.2).astype("float32"))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_files_load_their_exact_values(tmp_path, tokenizer_folders, dtype):
    """16-bit checkpoints (most Llama-family files are bfloat16) load as float32 copies of the same numbers."""
    import ml_dtypes
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "llama16"
    sp = copy_tokenizer(tokenizer_folders, "sentencepiece", folder)
    writers.write_hf_llama(folder, sp.get_piece_size())
    reference = from_pretrained(folder, tokenizer=False)
    half = np.float16 if dtype == "float16" else ml_dtypes.bfloat16
    tensors = load_file(str(folder / "model.safetensors"))
    rounded = {name: value.astype(half) for name, value in tensors.items()}
    save_file(rounded, str(folder / "model.safetensors"))
    model = from_pretrained(folder, tokenizer=False)
    q = model.backbone.blocks[0].self_attention.qkv_dense.kernel.numpy()
    np.testing.assert_array_equal(q[:, :16], rounded["model.layers.0.self_attn.q_proj.weight"].astype("float32").T)
    # Rounding the weights to 16 bits moves the logits only a little.
    assert _max_diff(model(_inputs()), reference(_inputs())) < 0.05 * float(np.abs(reference(_inputs())).max())


def test_older_key_spellings_load_the_same(tmp_path, tokenizer_folders):
    """The original `gpt2` upload has no "transformer." prefix; older BERT files say LayerNorm.gamma/beta."""
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "gpt2"
    copy_tokenizer(tokenizer_folders, "bpe", folder)
    writers.write_hf_gpt2(folder, 400)
    expected = from_pretrained(folder, tokenizer=False)(_inputs())
    tensors = load_file(str(folder / "model.safetensors"))
    save_file({k.removeprefix("transformer."): v for k, v in tensors.items()}, str(folder / "model.safetensors"))
    assert _max_diff(from_pretrained(folder, tokenizer=False)(_inputs()), expected) == 0

    folder = tmp_path / "bert"
    copy_tokenizer(tokenizer_folders, "wordpiece", folder)
    writers.write_hf_bert(folder, 400, heads=False)
    expected = from_pretrained(folder, tokenizer=False).backbone(_inputs(segments=True))
    tensors = load_file(str(folder / "model.safetensors"))
    old = {
        k.removeprefix("bert.")
        .replace("LayerNorm.weight", "LayerNorm.gamma")
        .replace("LayerNorm.bias", "LayerNorm.beta"): v
        for k, v in tensors.items()
    }
    save_file(old, str(folder / "model.safetensors"))
    got = from_pretrained(folder, tokenizer=False).backbone(_inputs(segments=True))
    assert _max_diff(got, expected) == 0
