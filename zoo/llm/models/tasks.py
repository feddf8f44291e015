"""Task models: heads on a backbone, each a plain Keras model that `fit()` trains.

- `CausalLM`: next-token logits (GPT pretraining); `generate()` decodes with a KV cache.
- `MaskedLM`: logits at masked positions (BERT MLM), plus NSP logits when the
  config asks for next-sentence prediction (two outputs: "mlm" and "nsp").
- `Seq2SeqLM`: target-token logits of an encoder-decoder (translation).
- `SequenceClassifier`: one label per sequence or sentence pair (sentiment, NLI).
- `QuestionAnswering`: start/end logits of an answer span (SQuAD-style).

`compile()` has defaults that work: zoo's one AdamW default
(`zoo.train.optimizer.build_optimizer`: decay on weight matrices only, not on biases,
LayerNorm parameters or embedding tables; global-norm clipping at 1), sparse categorical
cross-entropy on logits (`zoo.losses.TokenCrossentropy`), and accuracy as a *weighted* metric, so positions whose sample
weight is 0 (padding) count in neither the loss nor the accuracy (keras-hub's
`weighted_metrics="auto"`).

Example:
    >>> import numpy as np
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=1)
    >>> ids = np.array([[1, 2, 3, 4]])
    >>> tuple(model({"token_ids": ids, "padding_mask": np.ones_like(ids)}).shape)
    (1, 4, 512)
"""

import keras
from keras import ops

from zoo.llm.layers.blocks import activation_fn
from zoo.llm.models.backbone import CausalBackbone, EncoderBackbone, Seq2SeqBackbone
from zoo.llm.validation import check_token_ids
from zoo.losses import TokenCrossentropy  # imported here so loading a compiled .keras file finds it


class LLMTask(keras.Model):
    """Shared compile defaults, input checks and serialization of the task models."""

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        weighted_metrics="auto",
        learning_rate=1e-3,
        weight_decay=None,
        **kwargs,
    ):
        """Compile with zoo's AdamW default and cross-entropy on logits unless told otherwise.

        optimizer="auto" is `build_optimizer(learning_rate, weight_decay)`, the optimizer the
        recipes use (weight_decay None = its default, 0.1). metrics="auto" puts the accuracy in
        `weighted_metrics`: with `sample_weight` = the padding mask (as `zoo.llm.models.batches` gives),
        padded positions do not count in it. Any other `metrics` are used as given.
        """
        from zoo.train.optimizer import build_optimizer

        if optimizer == "auto":
            decay = {} if weight_decay is None else {"weight_decay": weight_decay}
            optimizer = build_optimizer(learning_rate, **decay)
        if loss == "auto":
            loss = self._default_loss()
        if weighted_metrics == "auto":
            weighted_metrics = self._default_metrics() if metrics == "auto" else None
        if metrics == "auto":
            metrics = None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, weighted_metrics=weighted_metrics, **kwargs)

    def compile_from_config(self, config):
        # Restores the saved optimizer, loss and metrics when a .keras file loads.
        from zoo.train.optimizer import exclude_from_decay

        config = keras.saving.deserialize_keras_object(config)
        optimizer = config.get("optimizer")
        if isinstance(optimizer, keras.optimizers.AdamW):
            # The exclusion list is not part of the optimizer's saved config.
            exclude_from_decay(optimizer)
        config.setdefault("weighted_metrics", None)  # files saved before weighted metrics: as they were
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _default_loss(self):
        return TokenCrossentropy()

    def _default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    # Values are concrete only before Keras traces the step function, so check numpy
    # inputs here: an id >= vocab_size would otherwise train on a zero vector (GPU).
    def _check_inputs(self, x):
        if not isinstance(x, dict):
            return
        config = self.backbone.llm_config
        for key, value in x.items():
            if key.endswith("token_ids"):
                check_token_ids(value, config.vocab_size, config.max_length, name=key)
            elif key == "segment_ids" and config.num_segments:
                check_token_ids(value, config.num_segments, config.max_length, name=key)

    def fit(self, x=None, y=None, *args, **kwargs):
        self._check_inputs(x)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        self._check_inputs(x)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        self._check_inputs(x)
        return super().predict(x, *args, **kwargs)

    @property
    def llm_config(self):
        return self.backbone.llm_config

    def attach_tokenizer(self, tokenizer):
        """Attach the tokenizer whose ids this model reads; then text goes in and out (generate("...")).

        Kept in a plain holder so Keras does not track the tokenizer as a sublayer of the model.
        """
        self._tokenizer_holder = _TokenizerHolder(tokenizer)
        return self

    @property
    def tokenizer(self):
        """The attached tokenizer, or None."""
        holder = getattr(self, "_tokenizer_holder", None)
        return None if holder is None else holder.tokenizer

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


class _TokenizerHolder:
    """A plain box: Keras tracks layers set as attributes, not arbitrary objects."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer


def _require(backbone, classes, task):
    if not isinstance(backbone, classes):
        names = " or ".join(c.__name__ for c in classes)
        raise TypeError(f"{task} needs a {names}, got {type(backbone).__name__}.")


def _run_with_cache(
    embeddings, blocks, final_norm, token_ids, cache, cache_index, cross_cache=None, encoder_padding_mask=None
):
    """Run new tokens through a decoder stack with per-block KV caches: (logits, hidden, cache).

    `cache` is a tuple with one [2, batch, kv_heads, max_len, head_dim] tensor per
    block (separate tensors: no slicing and restacking of one big tensor per step).
    """
    x = embeddings(token_ids, start_index=cache_index)
    # One token per row (a decode step): the blocks run on [batch, hidden], so every Dense layer is
    # one matmul instead of a tensordot with a dozen shape ops (most of a served step's op count).
    rows = cross_cache is None and token_ids.shape[1] == 1
    if rows:
        x = ops.reshape(x, (-1, x.shape[-1]))
    caches = []
    for i, block in enumerate(blocks):
        cross = (
            {} if cross_cache is None else dict(cross_cache=cross_cache[i], context_padding_mask=encoder_padding_mask)
        )
        x, layer_cache = block(x, cache=cache[i], cache_index=cache_index, **cross)
        caches.append(layer_cache)
    if final_norm is not None:
        x = final_norm(x)
    logits = embeddings.logits(x)
    if rows:
        x, logits = x[:, None], logits[:, None]
    return logits, x, tuple(caches)


def empty_cache(model, batch_size, max_len):
    """A zero KV cache for `call_with_cache`: one [2, b, kv_heads, max_len, head_dim] per block."""
    config = model.llm_config
    layers = config.decoder_layers if isinstance(model, Seq2SeqLM) else config.num_layers
    shape = (2, batch_size, config.key_value_heads, max_len, config.head_dim)
    return tuple(ops.zeros(shape, dtype=model.compute_dtype) for _ in range(layers))


def _pooler(config, dtype):
    # BERT's pooler: a tanh layer on the [CLS] (first) token feeds sentence-level heads.
    return keras.layers.Dense(
        config.hidden_dim,
        activation="tanh",
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
        dtype=dtype,
        name="pooler",
    )


@keras.saving.register_keras_serializable(package="zoo")
class CausalLM(LLMTask):
    """Decoder-only language model: logits [b, t, vocab] for the token after each position.

    Train it with `y` = the inputs shifted by one (see `zoo.llm.models.batches.causal_lm_batch`).

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny", num_layers=1)
        >>> len(model.generate([[1, 2, 3]], max_new_tokens=4)[0])
        4
    """

    def __init__(self, backbone, **kwargs):
        _require(backbone, (CausalBackbone,), "CausalLM")
        # === Layers ===
        self.backbone = backbone
        # === Functional Model ===
        inputs = dict(backbone.input)
        logits = backbone.embeddings.logits(backbone(inputs))
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

    def call_with_cache(self, token_ids, cache, cache_index):
        """Logits of `token_ids` placed at `cache_index`, reading and extending the KV cache.

        cache: a tuple of one [2, batch, kv_heads, max_len, head_dim] tensor per block
        (see `empty_cache`). Returns `(logits, hidden, cache)`. Only the new tokens
        pass through the model.
        """
        backbone = self.backbone
        return _run_with_cache(backbone.embeddings, backbone.blocks, backbone.final_norm, token_ids, cache, cache_index)

    def generate(self, prompts, max_new_tokens=None, max_length=None, **kwargs):
        """Continue each prompt: token-id lists (returns new ids; see `zoo.llm.models.generation.generate`) or,
        with a tokenizer attached, text (returns prompt + continuation; see `zoo.llm.models.text_generation`).

        max_new_tokens: tokens to add (default 32); max_length: prompt + new tokens, keras-hub's meaning.
        """
        from zoo.llm.models.text_generation import generate_any

        return generate_any(self, prompts, max_new_tokens=max_new_tokens, max_length=max_length, **kwargs)


@keras.saving.register_keras_serializable(package="zoo")
class MaskedLM(LLMTask):
    """BERT pretraining: MLM logits at `mask_positions` and, if the config enables it, NSP.

    Inputs: the backbone's plus `mask_positions` [b, num_masked] (int). Outputs
    "mlm" [b, num_masked, vocab] and, with next_sentence_prediction, "nsp" [b, 2]
    (label 1 = segment B really follows segment A).

    Example:
        >>> import numpy as np
        >>> from zoo.llm import build_llm
        >>> model = build_llm("masked", "tiny", num_layers=1, num_segments=2, next_sentence_prediction=True)
        >>> ids = np.array([[2, 3, 4, 5]])
        >>> out = model({"token_ids": ids, "padding_mask": np.ones_like(ids), "segment_ids": np.array([[0, 0, 1, 1]]),
        ...              "mask_positions": np.array([[1]])})
        >>> tuple(out["mlm"].shape), tuple(out["nsp"].shape)
        ((1, 1, 512), (1, 2))
    """

    def __init__(self, backbone, **kwargs):
        _require(backbone, (EncoderBackbone,), "MaskedLM")
        from keras_hub.layers import MaskedLMHead

        config = backbone.llm_config
        dtype = backbone.dtype_policy
        # === Layers ===
        self.backbone = backbone
        # Dense + activation + LayerNorm, then the (tied) token table and an output bias: BERT's head.
        self.mlm_head = MaskedLMHead(
            vocabulary_size=config.vocab_size,
            token_embedding=backbone.token_embedding if config.tie_embeddings else None,
            intermediate_activation=activation_fn(config.activation),
            layer_norm_epsilon=config.layer_norm_epsilon,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.02),
            dtype=dtype,
            name="mlm_head",
        )
        self.pooler = self.nsp_head = None
        if config.next_sentence_prediction:
            self.pooler = _pooler(config, dtype)
            self.nsp_head = keras.layers.Dense(2, dtype=dtype, name="nsp_head")
        # === Functional Model ===
        inputs = dict(backbone.input)
        inputs["mask_positions"] = keras.Input(shape=(None,), dtype="int32", name="mask_positions")
        sequence = backbone({k: v for k, v in inputs.items() if k != "mask_positions"})
        mlm = ops.cast(self.mlm_head(sequence, mask_positions=inputs["mask_positions"]), "float32")
        if self.nsp_head is not None:
            nsp = ops.cast(self.nsp_head(self.pooler(sequence[:, 0])), "float32")
            outputs = {"mlm": mlm, "nsp": nsp}
        else:
            outputs = mlm
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def _default_loss(self):
        loss = TokenCrossentropy()
        if self.backbone.llm_config.next_sentence_prediction:
            return {"mlm": loss, "nsp": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}
        return loss

    def _default_metrics(self):
        if self.backbone.llm_config.next_sentence_prediction:
            return {
                "mlm": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                "nsp": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            }
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqLM(LLMTask):
    """Encoder-decoder LM: target logits [b, t, vocab] given source and shifted target ids.

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("seq2seq", "tiny", num_layers=1)
        >>> len(model.generate([[5, 6, 7]], max_new_tokens=3, start_token_id=1)[0])
        3
    """

    def __init__(self, backbone, **kwargs):
        _require(backbone, (Seq2SeqBackbone,), "Seq2SeqLM")
        # === Layers ===
        self.backbone = backbone
        # === Functional Model ===
        inputs = dict(backbone.input)
        outputs = backbone(inputs)
        logits = backbone.embeddings.logits(outputs["decoder_sequence_output"])
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

    def cross_cache(self, encoder_output):
        """Encoder keys/values of every decoder block: a tuple of [b, 2, s, heads, head_dim]."""
        return tuple(block.cross_key_value(encoder_output) for block in self.backbone.decoder_blocks)

    def call_decoder_with_cache(self, token_ids, cache, cache_index, cross_cache, encoder_padding_mask):
        """Decoder logits of `token_ids` at `cache_index` with self- and cross-attention caches."""
        backbone = self.backbone
        return _run_with_cache(
            backbone.embeddings,
            backbone.decoder_blocks,
            backbone.decoder_final_norm,
            token_ids,
            cache,
            cache_index,
            cross_cache=cross_cache,
            encoder_padding_mask=encoder_padding_mask,
        )

    def generate(self, sources, max_new_tokens=32, **kwargs):
        """Decode a target for each source (lists of ids); see `zoo.llm.models.generation.generate_seq2seq`."""
        from zoo.llm.models.generation import generate_seq2seq

        return generate_seq2seq(self, sources, max_new_tokens=max_new_tokens, **kwargs)


@keras.saving.register_keras_serializable(package="zoo")
class SequenceClassifier(LLMTask):
    """One label per sequence: sentiment, or NLI on sentence pairs (with segment ids).

    An encoder reads the whole input, so the pooled first ([CLS]) token
    represents it (BERT); a causal backbone only sees everything at the last real
    token, so that one is used (GPT; inputs must be right-padded).

    Example:
        >>> import numpy as np
        >>> from zoo.llm import build_llm
        >>> model = build_llm("classifier", "tiny", num_layers=1, num_classes=3)
        >>> ids = np.array([[2, 3, 4]])
        >>> tuple(model({"token_ids": ids, "padding_mask": np.ones_like(ids)}).shape)
        (1, 3)
    """

    def __init__(self, backbone, num_classes=2, **kwargs):
        _require(backbone, (EncoderBackbone, CausalBackbone), "SequenceClassifier")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
        config = backbone.llm_config
        dtype = backbone.dtype_policy
        # === Layers ===
        self.backbone = backbone
        self.pooler = _pooler(config, dtype) if isinstance(backbone, EncoderBackbone) else None
        self.head_dropout = keras.layers.Dropout(config.dropout, dtype=dtype)
        self.classifier_head = keras.layers.Dense(num_classes, dtype=dtype, name="classifier_head")
        # === Functional Model ===
        inputs = dict(backbone.input)
        sequence = backbone(inputs)
        if self.pooler is not None:
            pooled = self.pooler(sequence[:, 0])
        else:
            last = ops.sum(ops.cast(inputs["padding_mask"], "int32"), axis=1) - 1
            last = ops.maximum(last, 0)
            pooled = ops.take_along_axis(sequence, last[:, None, None], axis=1)[:, 0]
        logits = ops.cast(self.classifier_head(self.head_dropout(pooled)), "float32")
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        # === Config ===
        self.num_classes = num_classes

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="zoo")
class QuestionAnswering(LLMTask):
    """Extractive QA: start and end logits over the tokens of (question, context).

    Outputs "start_logits" and "end_logits", [b, t] each; padding positions get
    -1e9 so they are never chosen. Labels are token positions.

    Example:
        >>> import numpy as np
        >>> from zoo.llm import build_llm
        >>> model = build_llm("qa", "tiny", num_layers=1)
        >>> ids = np.array([[2, 3, 4, 5]])
        >>> tuple(model({"token_ids": ids, "padding_mask": np.ones_like(ids)})["start_logits"].shape)
        (1, 4)
    """

    def __init__(self, backbone, **kwargs):
        _require(backbone, (EncoderBackbone,), "QuestionAnswering")
        # === Layers ===
        self.backbone = backbone
        self.span_head = keras.layers.Dense(2, dtype=backbone.dtype_policy, name="span_head")
        # === Functional Model ===
        inputs = dict(backbone.input)
        spans = ops.cast(self.span_head(backbone(inputs)), "float32")
        real = ops.cast(inputs["padding_mask"], "bool")
        start, end = (ops.where(real, spans[..., i], -1e9) for i in (0, 1))
        outputs = {"start_logits": start, "end_logits": end}
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def _default_loss(self):
        return {
            "start_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "end_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        }

    def _default_metrics(self):
        return {
            "start_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            "end_logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }
