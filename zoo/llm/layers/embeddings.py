"""Token + position (+ segment) embeddings: the input layer of every LLM here.

The token table is a `keras.layers.ReversibleEmbedding`, so the same matrix
turns the last hidden states back into vocabulary logits (tied embeddings,
GPT-2, BERT and the 2017 Transformer all do this). Position embeddings come
from keras-hub: learned (`PositionEmbedding`) or sinusoidal
(`SinePositionEncoding`); rotary positions live inside attention instead.

Example:
    >>> import numpy as np
    >>> from zoo.llm.config import LLMConfig
    >>> layer = LLMEmbeddings(LLMConfig(vocab_size=10, hidden_dim=8, num_heads=2))
    >>> tuple(layer(np.array([[1, 2, 3]])).shape)
    (1, 3, 8)
"""

import math

import keras
from keras import ops

from zoo.llm.config import LLMConfig
from zoo.llm.validation import check_length, check_token_ids


@keras.saving.register_keras_serializable(package="zoo")
class LLMEmbeddings(keras.layers.Layer):
    """Embeds token ids (and segment ids) into [batch, seq, hidden_dim] vectors.

    `logits(hidden)` projects hidden states back onto the vocabulary with the
    token table (tied) or with a separate output matrix (untied).

    Example:
        >>> import numpy as np
        >>> from zoo.llm.config import LLMConfig
        >>> layer = LLMEmbeddings(LLMConfig(vocab_size=10, hidden_dim=8, num_heads=2))
        >>> tuple(layer.logits(layer(np.array([[1, 2]]))).shape)
        (1, 2, 10)
    """

    def __init__(self, config, output_projection=True, **kwargs):
        super().__init__(**kwargs)
        self.config = config = LLMConfig.coerce(config)
        # An encoder's heads bring their own output weights, so only LMs that project
        # onto the vocabulary through this layer get a separate untied matrix.
        self.output_projection = bool(output_projection)
        self.token_embedding = keras.layers.ReversibleEmbedding(
            config.vocab_size,
            config.hidden_dim,
            tie_weights=config.tie_embeddings or not self.output_projection,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.position_embedding = None
        if config.position == "learned":
            from keras_hub.layers import PositionEmbedding

            self.position_embedding = PositionEmbedding(
                config.max_length,
                initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        elif config.position == "sinusoidal":
            from keras_hub.layers import SinePositionEncoding

            self.position_embedding = SinePositionEncoding(dtype=self.dtype_policy, name="position_embedding")
        self.segment_embedding = None
        if config.num_segments:
            self.segment_embedding = keras.layers.Embedding(
                config.num_segments,
                config.hidden_dim,
                embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=self.dtype_policy,
                name="segment_embedding",
            )
        self.norm = None
        if config.embedding_norm:
            self.norm = keras.layers.LayerNormalization(
                epsilon=config.layer_norm_epsilon, dtype=self.dtype_policy, name="embedding_norm"
            )
        self.dropout = keras.layers.Dropout(config.dropout, dtype=self.dtype_policy)

    def build(self, token_ids_shape, segment_ids_shape=None):
        width = (None, None, self.config.hidden_dim)
        self.token_embedding.build((None, None))
        if self.position_embedding is not None:
            self.position_embedding.build(width)
        if self.segment_embedding is not None:
            self.segment_embedding.build((None, None))
        if self.norm is not None:
            self.norm.build(width)
        self.built = True

    def call(self, token_ids, segment_ids=None, start_index=0, training=None):
        config = self.config
        length = token_ids.shape[-1]
        if isinstance(length, int) and isinstance(start_index, int):
            check_length(start_index + length, config.max_length)
        check_token_ids(token_ids, config.vocab_size, name="token_ids")
        x = self.token_embedding(token_ids)
        if config.scale_embeddings:
            # Vaswani et al. scale by sqrt(d_model) so the unit-scale sinusoids do not
            # drown the small initial token vectors.
            x = x * ops.cast(math.sqrt(config.hidden_dim), x.dtype)
        if self.position_embedding is not None:
            x = x + self.position_embedding(x, start_index=start_index)
        if self.segment_embedding is not None:
            if segment_ids is None:
                segment_ids = ops.zeros_like(token_ids)
            check_token_ids(segment_ids, config.num_segments, name="segment_ids")
            x = x + self.segment_embedding(segment_ids)
        if self.norm is not None:
            x = self.norm(x)
        return self.dropout(x, training=training)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        # Declared rather than traced: on JAX, tracing `call` with a free sequence length fails inside the
        # learned position table's slice (a symbolic length cannot be compared with max_length).
        return (*token_ids_shape, self.config.hidden_dim)

    def logits(self, hidden):
        """Vocabulary logits (float32, for a stable softmax) of [batch, seq, hidden] states."""
        return ops.cast(self.token_embedding(hidden, reverse=True), "float32")

    def get_config(self):
        config = super().get_config()
        config["config"] = self.config.get_config()
        config["output_projection"] = self.output_projection
        return config
