"""Backbones: token ids in, hidden states out (keras-hub's backbone/task split).

- `CausalBackbone`: decoder-only stack with causal self-attention (GPT).
- `EncoderBackbone`: bidirectional stack, optional segment ids (BERT).
- `Seq2SeqBackbone`: encoder + decoder with cross-attention (Vaswani et al. 2017);
  one token table is shared by source, target and output projection.

Each is a functional Keras model wrapped in a class: `# === Layers ===` builds
the parts, `# === Functional Model ===` wires them, `get_config()` stores the
LLMConfig so `.keras` files rebuild the same graph. Tasks in `zoo.llm.models.tasks`
put heads on top.

Example:
    >>> import numpy as np
    >>> from zoo.llm.config import LLMConfig
    >>> backbone = CausalBackbone(LLMConfig(vocab_size=50, hidden_dim=8, num_heads=2, num_layers=1))
    >>> ids = np.array([[1, 2, 3]])
    >>> tuple(backbone({"token_ids": ids, "padding_mask": np.ones_like(ids)}).shape)
    (1, 3, 8)
"""

import keras

from zoo.llm.config import LLMConfig
from zoo.llm.layers.blocks import block_from_config, make_norm
from zoo.llm.layers.embeddings import LLMEmbeddings
from zoo.llm.layers.reversible import ReversibleStack


class LLMBackbone(keras.Model):
    """Shared config handling of the three backbones."""

    def _init_config(self, config):
        return LLMConfig.coerce(config)

    def _stack(self, config, blocks, name):
        """A function running x through the blocks: one after another, or as a reversible stack."""
        if not config.reversible:

            def run(x, padding_mask, training=None):
                for block in blocks:
                    x = block(x, padding_mask=padding_mask, training=training)
                return x

            return run
        stack = ReversibleStack(blocks, name=name)
        setattr(self, f"_{name}", stack)
        return lambda x, padding_mask, training=None: stack(x, padding_mask=padding_mask, training=training)

    def _final_norm(self, config, name, dtype):
        # Pre-LN stacks leave the residual stream unnormalised: GPT-2 adds one last LayerNorm.
        if config.norm != "pre":
            return None
        return make_norm(config.norm_type, config.layer_norm_epsilon, dtype, name)

    @property
    def token_embedding(self):
        return self.embeddings.token_embedding

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "config": self.llm_config.get_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class CausalBackbone(LLMBackbone):
    """Decoder-only transformer (GPT): inputs `token_ids`, `padding_mask`; output [b, t, d].

    Example:
        >>> from zoo.llm.config import LLMConfig
        >>> CausalBackbone(LLMConfig(vocab_size=50, hidden_dim=8, num_heads=2, num_layers=1)).count_params()
        7144
    """

    def __init__(self, config, dtype=None, **kwargs):
        config = self._init_config(config)
        # === Layers ===
        self.embeddings = LLMEmbeddings(config, dtype=dtype, name="embeddings")
        self.blocks = [
            block_from_config(config, f"block_{i}", causal=True, dtype=dtype) for i in range(config.num_layers)
        ]
        run_blocks = self._stack(config, self.blocks, "reversible_stack")
        self.final_norm = self._final_norm(config, "final_norm", dtype)

        # === Functional Model ===
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
        x = run_blocks(self.embeddings(token_ids), padding_mask)
        if self.final_norm is not None:
            x = self.final_norm(x)
        super().__init__(
            inputs={"token_ids": token_ids, "padding_mask": padding_mask}, outputs=x, dtype=dtype, **kwargs
        )

        # === Config ===
        self.llm_config = config


@keras.saving.register_keras_serializable(package="zoo")
class EncoderBackbone(LLMBackbone):
    """Bidirectional transformer encoder (BERT): inputs `token_ids`, `padding_mask`
    and, when `num_segments > 0`, `segment_ids`; output [b, t, d].

    Example:
        >>> import numpy as np
        >>> from zoo.llm.config import LLMConfig
        >>> backbone = EncoderBackbone(LLMConfig(vocab_size=50, hidden_dim=8, num_heads=2, num_layers=1))
        >>> tuple(backbone({"token_ids": np.array([[5, 6]]), "padding_mask": np.array([[1, 1]])}).shape)
        (1, 2, 8)
    """

    def __init__(self, config, dtype=None, **kwargs):
        config = self._init_config(config)
        # === Layers ===
        self.embeddings = LLMEmbeddings(config, output_projection=False, dtype=dtype, name="embeddings")
        self.blocks = [
            block_from_config(config, f"block_{i}", causal=False, dtype=dtype) for i in range(config.num_layers)
        ]
        run_blocks = self._stack(config, self.blocks, "reversible_stack")
        self.final_norm = self._final_norm(config, "final_norm", dtype)

        # === Functional Model ===
        inputs = {
            "token_ids": keras.Input(shape=(None,), dtype="int32", name="token_ids"),
            "padding_mask": keras.Input(shape=(None,), dtype="int32", name="padding_mask"),
        }
        if config.num_segments:
            inputs["segment_ids"] = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
        x = self.embeddings(inputs["token_ids"], segment_ids=inputs.get("segment_ids"))
        x = run_blocks(x, inputs["padding_mask"])
        if self.final_norm is not None:
            x = self.final_norm(x)
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self.llm_config = config


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqBackbone(LLMBackbone):
    """Encoder-decoder transformer (Vaswani et al. 2017).

    Inputs `encoder_token_ids`, `encoder_padding_mask`, `decoder_token_ids`,
    `decoder_padding_mask`; outputs a dict with `encoder_sequence_output` and
    `decoder_sequence_output`.

    Example:
        >>> import numpy as np
        >>> from zoo.llm.config import LLMConfig
        >>> backbone = Seq2SeqBackbone(LLMConfig(vocab_size=50, hidden_dim=8, num_heads=2, num_layers=1))
        >>> src, tgt = np.array([[4, 5, 6]]), np.array([[1, 7]])
        >>> out = backbone({"encoder_token_ids": src, "encoder_padding_mask": np.ones_like(src),
        ...                 "decoder_token_ids": tgt, "decoder_padding_mask": np.ones_like(tgt)})
        >>> tuple(out["decoder_sequence_output"].shape)
        (1, 2, 8)
    """

    def __init__(self, config, dtype=None, **kwargs):
        config = self._init_config(config)
        # === Layers ===
        # One embedding for source and target: the 2017 paper shares a 37k BPE vocabulary.
        self.embeddings = LLMEmbeddings(config, dtype=dtype, name="embeddings")
        self.encoder_blocks = [
            block_from_config(config, f"encoder_block_{i}", causal=False, dtype=dtype) for i in range(config.num_layers)
        ]
        # Reversible applies to the encoder; decoder blocks (with cross-attention) stay standard.
        self._run_encoder_blocks = self._stack(config, self.encoder_blocks, "encoder_reversible_stack")
        self.encoder_final_norm = self._final_norm(config, "encoder_final_norm", dtype)
        self.decoder_blocks = [
            block_from_config(config, f"decoder_block_{i}", causal=True, cross_attention=True, dtype=dtype)
            for i in range(config.decoder_layers)
        ]
        self.decoder_final_norm = self._final_norm(config, "decoder_final_norm", dtype)

        # === Functional Model ===
        inputs = {
            name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in ("encoder_token_ids", "encoder_padding_mask", "decoder_token_ids", "decoder_padding_mask")
        }
        encoded = self.encode(inputs["encoder_token_ids"], inputs["encoder_padding_mask"])
        x = self.embeddings(inputs["decoder_token_ids"])
        for block in self.decoder_blocks:
            x = block(
                x,
                padding_mask=inputs["decoder_padding_mask"],
                context=encoded,
                context_padding_mask=inputs["encoder_padding_mask"],
            )
        if self.decoder_final_norm is not None:
            x = self.decoder_final_norm(x)
        outputs = {"encoder_sequence_output": encoded, "decoder_sequence_output": x}
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self.llm_config = config

    def encode(self, token_ids, padding_mask, training=None):
        """Encoder output [b, s, d] of source ids (run once per source when decoding)."""
        x = self._run_encoder_blocks(self.embeddings(token_ids, training=training), padding_mask, training=training)
        if self.encoder_final_norm is not None:
            x = self.encoder_final_norm(x)
        return x
