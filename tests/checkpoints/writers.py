"""Tiny random checkpoints written the way their own tools write them, for the checkpoint tests.

Hugging Face folders are written with numpy + safetensors in the transformers key
layout (names and [out, in] shapes spelled out here, independently of zoo's
mapping); keras-hub presets with keras-hub's own `save_to_preset`. Tokenizers are
trained with the `tokenizers` and `sentencepiece` packages on English and
Japanese text.
"""

import json

import numpy as np

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. Models read tokens, not words. "
    "A tokenizer splits text into pieces the model has seen before."
)
JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。日本語の文章も正しく分割されるべきだ。"
TEXTS = [
    ENGLISH,
    JAPANESE,
    "Hello world! Tokens, ids and embeddings.",
    "東京は日本の首都です。カタカナとひらがな。",
] * 20
SIZES = {"hidden": 16, "heads": 4, "layers": 2, "intermediate": 32, "positions": 64}


def _rand(rng, *shape):
    return (rng.standard_normal(shape) * 0.2).astype("float32")


def _save(folder, config, tensors):
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tensors, str(folder / "model.safetensors"))


def byte_bpe_tokenizer(folder, vocab_size=400, special=("<|endoftext|>",)):
    """Train a GPT-2-style byte-level BPE; write vocab.json, merges.txt and tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(special), initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(TEXTS, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tok.model.save(str(folder))
    tok.save(str(folder / "tokenizer.json"))
    return tok


def wordpiece_tokenizer(folder, vocab_size=400):
    """Train a BERT WordPiece (lowercasing); write vocab.txt, tokenizer_config.json and tokenizer.json."""
    from tokenizers import BertWordPieceTokenizer

    tok = BertWordPieceTokenizer(lowercase=True)
    tok.train_from_iterator(TEXTS, vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save_model(str(folder))
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return tok


def sentencepiece_tokenizer(folder, vocab_size=420):
    """Train a Llama-style SentencePiece BPE with byte fallback; write tokenizer.model."""
    import io

    import sentencepiece

    proto = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXTS),
        model_writer=proto,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.model").write_bytes(proto.getvalue())
    return sentencepiece.SentencePieceProcessor(model_proto=proto.getvalue())


def write_hf_gpt2(folder, vocab_size, seed=0, tied=True):
    s, rng = SIZES, np.random.default_rng(seed)
    d = s["hidden"]  # GPT-2 fixes its MLP at 4 * d (n_inner: None)
    config = {
        "model_type": "gpt2",
        "vocab_size": vocab_size,
        "n_positions": s["positions"],
        "n_embd": d,
        "n_layer": s["layers"],
        "n_head": s["heads"],
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0,
        "layer_norm_epsilon": 1e-5,
    }
    t = {"transformer.wte.weight": _rand(rng, vocab_size, d), "transformer.wpe.weight": _rand(rng, s["positions"], d)}
    for i in range(s["layers"]):
        p = f"transformer.h.{i}."
        t.update(
            {
                p + "ln_1.weight": 1 + _rand(rng, d),
                p + "ln_1.bias": _rand(rng, d),
                p + "attn.c_attn.weight": _rand(rng, d, 3 * d),
                p + "attn.c_attn.bias": _rand(rng, 3 * d),
                p + "attn.c_proj.weight": _rand(rng, d, d),
                p + "attn.c_proj.bias": _rand(rng, d),
                p + "attn.bias": np.tril(np.ones((1, 1, s["positions"], s["positions"]), "float32")),
                p + "ln_2.weight": 1 + _rand(rng, d),
                p + "ln_2.bias": _rand(rng, d),
                p + "mlp.c_fc.weight": _rand(rng, d, 4 * d),
                p + "mlp.c_fc.bias": _rand(rng, 4 * d),
                p + "mlp.c_proj.weight": _rand(rng, 4 * d, d),
                p + "mlp.c_proj.bias": _rand(rng, d),
            }
        )
    t["transformer.ln_f.weight"], t["transformer.ln_f.bias"] = 1 + _rand(rng, d), _rand(rng, d)
    _save(folder, config, t)
    return config


def write_hf_bert(folder, vocab_size, seed=0, heads=True):
    s, rng = SIZES, np.random.default_rng(seed)
    d, f = s["hidden"], s["intermediate"]
    config = {
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": d,
        "num_hidden_layers": s["layers"],
        "num_attention_heads": s["heads"],
        "intermediate_size": f,
        "max_position_embeddings": s["positions"],
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "hidden_dropout_prob": 0.0,
    }
    b = "bert."
    t = {
        b + "embeddings.word_embeddings.weight": _rand(rng, vocab_size, d),
        b + "embeddings.position_embeddings.weight": _rand(rng, s["positions"], d),
        b + "embeddings.token_type_embeddings.weight": _rand(rng, 2, d),
        b + "embeddings.LayerNorm.weight": 1 + _rand(rng, d),
        b + "embeddings.LayerNorm.bias": _rand(rng, d),
        b + "pooler.dense.weight": _rand(rng, d, d),
        b + "pooler.dense.bias": _rand(rng, d),
    }
    for i in range(s["layers"]):
        p = f"{b}encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            t[p + name + ".weight"], t[p + name + ".bias"] = _rand(rng, d, d), _rand(rng, d)
        t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = _rand(rng, f, d), _rand(rng, f)
        t[p + "output.dense.weight"], t[p + "output.dense.bias"] = _rand(rng, d, f), _rand(rng, d)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + name + ".weight"], t[p + name + ".bias"] = 1 + _rand(rng, d), _rand(rng, d)
    if heads:
        t.update(
            {
                "cls.predictions.transform.dense.weight": _rand(rng, d, d),
                "cls.predictions.transform.dense.bias": _rand(rng, d),
                "cls.predictions.transform.LayerNorm.weight": 1 + _rand(rng, d),
                "cls.predictions.transform.LayerNorm.bias": _rand(rng, d),
                "cls.predictions.bias": _rand(rng, vocab_size),
                "cls.seq_relationship.weight": _rand(rng, 2, d),
                "cls.seq_relationship.bias": _rand(rng, 2),
            }
        )
    _save(folder, config, t)
    return config


def write_hf_llama(folder, vocab_size, seed=0, model_type="llama", kv_heads=2, tied=False, rope_scaling=None):
    s, rng = SIZES, np.random.default_rng(seed)
    d, f, h = s["hidden"], s["intermediate"], s["heads"]
    kv = kv_heads * d // h
    config = {
        "model_type": model_type,
        "vocab_size": vocab_size,
        "hidden_size": d,
        "num_hidden_layers": s["layers"],
        "num_attention_heads": h,
        "num_key_value_heads": kv_heads,
        "intermediate_size": f,
        "max_position_embeddings": s["positions"],
        "rms_norm_eps": 1e-6,
        "rope_theta": 500000.0,
        "tie_word_embeddings": tied,
        "hidden_act": "silu",
        "rope_scaling": rope_scaling,
    }
    if model_type == "qwen2":
        config.update(use_sliding_window=False, sliding_window=None)
    t = {"model.embed_tokens.weight": _rand(rng, vocab_size, d), "model.norm.weight": 1 + _rand(rng, d)}
    if not tied:
        t["lm_head.weight"] = _rand(rng, vocab_size, d)
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        t.update(
            {
                p + "input_layernorm.weight": 1 + _rand(rng, d),
                p + "post_attention_layernorm.weight": 1 + _rand(rng, d),
                p + "self_attn.q_proj.weight": _rand(rng, d, d),
                p + "self_attn.k_proj.weight": _rand(rng, kv, d),
                p + "self_attn.v_proj.weight": _rand(rng, kv, d),
                p + "self_attn.o_proj.weight": _rand(rng, d, d),
                p + "mlp.gate_proj.weight": _rand(rng, f, d),
                p + "mlp.up_proj.weight": _rand(rng, f, d),
                p + "mlp.down_proj.weight": _rand(rng, d, f),
            }
        )
        if model_type == "qwen2":
            t.update(
                {
                    p + "self_attn.q_proj.bias": _rand(rng, d),
                    p + "self_attn.k_proj.bias": _rand(rng, kv),
                    p + "self_attn.v_proj.bias": _rand(rng, kv),
                }
            )
    _save(folder, config, t)
    return config
