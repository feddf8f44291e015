"""Named LLM configurations: CPU-sized ones and the published models.

`tiny` and `small` are for learning on a laptop CPU. `gpt2_small`, `bert_base`
and `transformer_base` reproduce the published architectures, so their
parameter counts equal the papers' (weights are random: nothing is downloaded).

| preset           | kind    | parameters  | paper                          |
| ---------------- | ------- | ----------- | ------------------------------ |
| gpt2_small       | causal  | 124,439,808 | Radford et al. 2019: 124M      |
| bert_base        | masked  | 110,106,428 | Devlin et al. 2018: 110M       |
| transformer_base | seq2seq |  63,082,496 | Vaswani et al. 2017: "65M"     |

The 2017 paper's 65M is not reproduced by its own stated configuration: six
encoder and six decoder layers of width 512 with a shared 37,000-token
vocabulary add up to 63.1M (the paper gives no breakdown).

Example:
    >>> from zoo.llm.models.presets import get_preset
    >>> get_preset("gpt2_small").hidden_dim
    768
"""

from zoo.llm.config import LLMConfig

PRESETS = {
    # Two blocks of width 64: trains in seconds on a CPU.
    "tiny": dict(
        kind="causal",
        description="2 layers, width 64, 4 heads, vocab 512: CPU toy",
        config=LLMConfig(
            vocab_size=512, max_length=256, num_layers=2, hidden_dim=64, num_heads=4, intermediate_dim=256
        ),
    ),
    # Four blocks of width 256: learns real structure from a few MB of text on a CPU.
    "small": dict(
        kind="causal",
        description="4 layers, width 256, 4 heads, vocab 8192: CPU work",
        config=LLMConfig(
            vocab_size=8192,
            max_length=512,
            num_layers=4,
            hidden_dim=256,
            num_heads=4,
            intermediate_dim=1024,
            dropout=0.1,
        ),
    ),
    # GPT-2 small (Radford et al. 2019): pre-LN, learned positions, tied output, tanh GELU.
    "gpt2_small": dict(
        kind="causal",
        description="GPT-2 small: 12 layers, width 768, 12 heads, vocab 50257, context 1024",
        config=LLMConfig(
            vocab_size=50257,
            max_length=1024,
            num_layers=12,
            hidden_dim=768,
            num_heads=12,
            intermediate_dim=3072,
            dropout=0.1,
            norm="pre",
            position="learned",
            tie_embeddings=True,
            activation="gelu_approximate",
            layer_norm_epsilon=1e-5,
        ),
    ),
    # BERT-base (Devlin et al. 2018): post-LN, segment embeddings, embedding LayerNorm,
    # MLM head tied to the token embedding, NSP head on the pooled [CLS] token.
    "bert_base": dict(
        kind="masked",
        description="BERT-base: 12 layers, width 768, 12 heads, vocab 30522, MLM + NSP",
        config=LLMConfig(
            vocab_size=30522,
            max_length=512,
            num_layers=12,
            hidden_dim=768,
            num_heads=12,
            intermediate_dim=3072,
            dropout=0.1,
            norm="post",
            position="learned",
            tie_embeddings=True,
            activation="gelu",
            layer_norm_epsilon=1e-12,
            embedding_norm=True,
            num_segments=2,
            next_sentence_prediction=True,
        ),
    ),
    # Transformer base (Vaswani et al. 2017): post-LN, sinusoidal positions, ReLU, one
    # 37k BPE embedding shared by encoder, decoder and the pre-softmax projection,
    # scaled by sqrt(d_model).
    "transformer_base": dict(
        kind="seq2seq",
        description="Transformer base: 6+6 layers, width 512, 8 heads, shared vocab 37000",
        config=LLMConfig(
            vocab_size=37000,
            max_length=512,
            num_layers=6,
            num_decoder_layers=6,
            hidden_dim=512,
            num_heads=8,
            intermediate_dim=2048,
            dropout=0.1,
            norm="post",
            position="sinusoidal",
            tie_embeddings=True,
            activation="relu",
            layer_norm_epsilon=1e-6,
            scale_embeddings=True,
        ),
    ),
}


def preset_names():
    return list(PRESETS)


def get_preset(name):
    """The LLMConfig of a preset; an unknown name lists the known ones."""
    return _entry(name)["config"]


def preset_kind(name):
    """The model kind a preset was published as ("causal", "masked" or "seq2seq")."""
    return _entry(name)["kind"]


def _entry(name):
    if name not in PRESETS:
        import difflib

        close = difflib.get_close_matches(str(name), PRESETS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown preset {name!r}.{hint} Known presets: {', '.join(PRESETS)}.")
    return PRESETS[name]
