"""A GPT you can read in one sitting: the causal LM of zoo, in one file.

This is the reading copy. `build_llm("causal", ...)` builds the same network
from the library's parts (zoo/llm/layers, zoo/llm/attention, zoo/llm/models),
which add options (other attention kinds, rotary positions, post-norm, KV-cached
decoding, mixed precision). `from_zoo(model)` copies a library model's weights
into this one, and tests/llm/test_reading_gpt.py checks that both compute the
same logits. The shape follows GPT-2 (Radford et al. 2019) and nanoGPT:

    x = token embedding + position embedding
    for each block:
        x = x + attention(layer_norm_1(x))     # pre-norm residual
        x = x + mlp(layer_norm_2(x))
    logits = layer_norm_final(x) @ token_embedding^T    # tied output head

Example:
    >>> import numpy as np
    >>> model = GPT(GPTConfig(vocab_size=50, max_length=16, num_layers=2, hidden_dim=16, num_heads=2))
    >>> tuple(model(np.array([[1, 2, 3]])).shape)
    (1, 3, 50)
"""

import dataclasses
import math

import keras
from keras import ops


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 512
    max_length: int = 256  # longest sequence: the size of the position table
    num_layers: int = 2
    hidden_dim: int = 64
    num_heads: int = 4  # hidden_dim must divide evenly: each head gets hidden_dim / num_heads features
    intermediate_dim: int = 256  # MLP width, 4 * hidden_dim in GPT-2
    layer_norm_epsilon: float = 1e-5
    gelu_approximate: bool = False  # GPT-2 used the tanh approximation of GELU


def _dense(units, name):
    # GPT-2 initialises every weight matrix from N(0, 0.02).
    return keras.layers.Dense(units, kernel_initializer=keras.initializers.RandomNormal(stddev=0.02), name=name)


class CausalSelfAttention(keras.layers.Layer):
    """Multi-head self-attention where each position sees itself and the positions before it."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = config.num_heads
        self.head_dim = config.hidden_dim // config.num_heads
        self.c_attn = _dense(3 * config.hidden_dim, "c_attn")  # queries, keys, values in one matmul
        self.c_proj = _dense(config.hidden_dim, "c_proj")  # mixes the heads back together

    def call(self, x, padding_mask=None):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        # [batch, length, 3 * hidden] -> three tensors of [batch, length, heads, head_dim].
        qkv = ops.reshape(self.c_attn(x), (batch, length, 3, self.num_heads, self.head_dim))
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        # Scaled dot product: without 1/sqrt(head_dim) the scores grow with the width and
        # the softmax saturates. Scaling q (not the scores) touches a smaller tensor.
        q = q * (1.0 / math.sqrt(self.head_dim))
        scores = ops.einsum("bqhd,bkhd->bhqk", q, k)  # [batch, heads, queries, keys]
        # Causal mask: query i may use key j only if j <= i, so the model cannot read the
        # token it has to predict. Padding keys (padding_mask 0) are hidden too.
        positions = ops.arange(length)
        allowed = positions[None, :] <= positions[:, None]
        allowed = allowed[None, None]
        if padding_mask is not None:
            allowed = ops.logical_and(allowed, ops.cast(padding_mask, "bool")[:, None, None, :])
        # Hidden keys get -1e9 added: after the softmax their weight is exactly 0.
        scores = scores + ops.cast(ops.logical_not(allowed), scores.dtype) * -1e9
        weights = ops.softmax(scores, axis=-1)
        out = ops.einsum("bhqk,bkhd->bqhd", weights, v)  # a weighted average of the values
        return self.c_proj(ops.reshape(out, (batch, length, self.num_heads * self.head_dim)))


class MLP(keras.layers.Layer):
    """The position-wise feed-forward network: widen, GELU, project back."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.approximate = config.gelu_approximate
        self.c_fc = _dense(config.intermediate_dim, "c_fc")
        self.c_proj = _dense(config.hidden_dim, "c_proj")

    def call(self, x):
        return self.c_proj(keras.activations.gelu(self.c_fc(x), approximate=self.approximate))


class Block(keras.layers.Layer):
    """One transformer block: attention, then MLP, each with a pre-norm residual connection."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.ln_1 = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name="ln_1")
        self.attn = CausalSelfAttention(config, name="attn")
        self.ln_2 = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name="ln_2")
        self.mlp = MLP(config, name="mlp")

    def call(self, x, padding_mask=None):
        # Pre-norm (GPT-2): normalise the input of each sublayer, never the residual stream
        # itself, so the identity path x -> x carries gradients straight through deep stacks.
        x = x + self.attn(self.ln_1(x), padding_mask=padding_mask)
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(keras.Model):
    """Token ids [batch, length] in, next-token logits [batch, length, vocab_size] out."""

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.wte = keras.layers.Embedding(config.vocab_size, config.hidden_dim, embeddings_initializer=init, name="wte")
        # Learned positions: attention itself is order-blind, so each position adds its own vector.
        self.wpe = keras.layers.Embedding(config.max_length, config.hidden_dim, embeddings_initializer=init, name="wpe")
        self.blocks = [Block(config, name=f"h_{i}") for i in range(config.num_layers)]
        # Pre-norm leaves the residual stream unnormalised, so one last LayerNorm before the head.
        self.ln_f = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name="ln_f")

    def call(self, token_ids, padding_mask=None):
        length = ops.shape(token_ids)[1]
        x = self.wte(token_ids) + self.wpe(ops.arange(length))
        for block in self.blocks:
            x = block(x, padding_mask=padding_mask)
        x = self.ln_f(x)
        # Tied head: the token table turns hidden states back into vocabulary scores,
        # which saves vocab_size * hidden_dim parameters (38M of GPT-2 small's 124M).
        return ops.matmul(x, ops.transpose(self.wte.embeddings))

    def generate(self, token_ids, max_new_tokens, temperature=0.0, seed=None):
        """Append `max_new_tokens` tokens: greedy at temperature 0, else sampled.

        No KV cache: every step runs the whole sequence again (the library's
        `CausalLM.generate` keeps each position's keys and values instead).
        """
        token_ids = ops.convert_to_tensor(token_ids, "int32")
        seeds = keras.random.SeedGenerator(seed)
        for _ in range(max_new_tokens):
            logits = self(token_ids[:, -self.config.max_length :])[:, -1, :]
            if temperature == 0:
                next_id = ops.argmax(logits, axis=-1)[:, None]
            else:
                next_id = keras.random.categorical(logits / temperature, 1, seed=seeds)
            token_ids = ops.concatenate([token_ids, ops.cast(next_id, "int32")], axis=1)
        return token_ids


def from_zoo(model):
    """A GPT holding the weights of a library CausalLM (`build_llm("causal", ...)`).

    The reading copy has one shape: pre-norm, learned positions, tied head, full
    attention, biases everywhere. Any other config is refused with the field to change.

    Example:
        >>> from zoo.llm import build_llm
        >>> gpt = from_zoo(build_llm("causal", "tiny", compile=False))
        >>> gpt.config.num_layers
        2
    """
    c = model.llm_config
    # Refuse, never approximate. getattr's default: Llama-style fields a config may not have.
    required = dict(
        norm="pre",
        position="learned",
        tie_embeddings=True,
        attention="full",
        use_bias=True,
        reversible=False,
        embedding_norm=False,
        scale_embeddings=False,
        num_segments=0,
        norm_type="layernorm",
        mlp="standard",
        qkv_bias=None,
        num_key_value_heads=None,
    )
    for field, value in required.items():
        if getattr(c, field, value) != value:
            raise ValueError(f"The reading GPT needs {field}={value!r}, this model has {getattr(c, field)!r}.")
    if c.activation not in ("gelu", "gelu_approximate"):
        raise ValueError(f"The reading GPT uses GELU, this model has activation={c.activation!r}.")
    gpt = GPT(
        GPTConfig(
            c.vocab_size,
            c.max_length,
            c.num_layers,
            c.hidden_dim,
            c.num_heads,
            c.intermediate_dim,
            c.layer_norm_epsilon,
            gelu_approximate=c.activation == "gelu_approximate",
        )
    )
    gpt(ops.zeros((1, min(2, c.max_length)), "int32"))  # create the weights
    zoo = model.backbone
    gpt.wte.embeddings.assign(zoo.embeddings.token_embedding.embeddings)
    gpt.wpe.embeddings.assign(zoo.embeddings.position_embedding.position_embeddings)
    pairs = [(gpt.ln_f, zoo.final_norm)]
    for ours, theirs in zip(gpt.blocks, zoo.blocks):
        pairs += [
            (ours.ln_1, theirs.self_attention_norm),
            (ours.attn.c_attn, theirs.self_attention.qkv_dense),  # same [q | k | v] column order
            (ours.attn.c_proj, theirs.self_attention.output_dense),
            (ours.ln_2, theirs.ffn_norm),
            (ours.mlp.c_fc, theirs.ffn_in),
            (ours.mlp.c_proj, theirs.ffn_out),
        ]
    for ours, theirs in pairs:
        ours.set_weights(theirs.get_weights())
    return gpt
