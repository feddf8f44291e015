"""Every class zoo registers for `.keras` loading goes through the shared harness (tests/harness.py).

`CASES` maps each registered name ("zoo>ClassName") to its harness case. A class registered
without a case fails `test_every_registered_class_has_a_harness_case`: add one here.
"""

import importlib
import pkgutil
import tempfile

import keras
import numpy as np
import pytest

from tests.harness import (
    SEQ,
    TINY,
    _one_fit_step,
    run_backbone_test,
    run_config_round_trip,
    run_layer_test,
    run_model_saving_test,
    run_precision_test,
    run_serialization_test,
    run_task_test,
)

BATCH, WIDTH = 2, 8


def _x(batch=BATCH, seq=SEQ, width=WIDTH, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, seq, width)).astype("float32")


def _padding(batch=BATCH, seq=SEQ):
    mask = np.ones((batch, seq), "int32")
    mask[0, -2:] = 0  # row 0 ends in padding
    return mask


def _ids(batch=BATCH, seq=SEQ, vocab=TINY["vocab_size"], seed=0):
    ids = np.random.default_rng(seed).integers(1, vocab, (batch, seq)).astype("int32")
    ids[0, -2:] = 0
    return ids


def _llm_inputs(segments=False):
    ids = _ids()
    x = {"token_ids": ids, "padding_mask": (ids != 0).astype("int32")}
    if segments:
        x["segment_ids"] = (np.arange(SEQ)[None] >= SEQ // 2).astype("int32").repeat(BATCH, 0)
    return x


def _seq2seq_inputs():
    src, tgt = _ids(seed=1), _ids(seed=2)
    return {
        "encoder_token_ids": src,
        "encoder_padding_mask": (src != 0).astype("int32"),
        "decoder_token_ids": tgt,
        "decoder_padding_mask": (tgt != 0).astype("int32"),
    }


def _config(**fields):
    from zoo.llm.config import LLMConfig

    return LLMConfig(**{**TINY, **fields})


# --- attention layers: one call with a padding mask, causal --------------------------------------------------


def _attention_case(name, **options):
    def case():
        from zoo.llm.attention import get_attention_class

        cls = get_attention_class(name)
        run_layer_test(
            cls,
            dict(num_heads=2, head_dim=4, causal=True, **options),
            {"x": _x(), "padding_mask": _padding()},
            (BATCH, SEQ, WIDTH),
        )

    return case


def _transformer_block():
    from zoo.llm.layers.blocks import TransformerBlock

    init = dict(hidden_dim=WIDTH, num_heads=2, intermediate_dim=16, causal=True, rotary=True)
    run_layer_test(TransformerBlock, init, {"x": _x(), "padding_mask": _padding()}, (BATCH, SEQ, WIDTH))
    # Cross-attention block (the seq2seq decoder's) takes the encoder output as context.
    run_layer_test(
        TransformerBlock,
        dict(hidden_dim=WIDTH, num_heads=2, intermediate_dim=16, causal=True, cross_attention=True, norm="post"),
        {
            "x": _x(),
            "padding_mask": _padding(),
            "context": _x(seq=5, seed=3),
            "context_padding_mask": np.ones((BATCH, 5), "int32"),
        },
        (BATCH, SEQ, WIDTH),
        run_precision_check=False,
    )


def _reversible_stack():
    from zoo.llm.layers.blocks import TransformerBlock
    from zoo.llm.layers.reversible import ReversibleStack

    def blocks(dtype=None):
        return [TransformerBlock(WIDTH, 2, 16, causal=True, dtype=dtype, name=f"block_{i}") for i in range(2)]

    run_layer_test(
        ReversibleStack,
        dict(blocks=blocks()),
        {"x": _x(), "padding_mask": _padding()},
        (BATCH, SEQ, WIDTH),
        run_precision_check=False,
    )
    # Mixed precision: the blocks carry the policy, the stack follows it.
    run_precision_test(
        lambda dtype: ReversibleStack(blocks(dtype), dtype=dtype), lambda stack: stack(_x(), padding_mask=_padding())
    )


def _embeddings():
    from zoo.llm.layers.embeddings import LLMEmbeddings

    run_layer_test(
        LLMEmbeddings,
        dict(config=_config(num_segments=2)),
        {"token_ids": _ids(), "segment_ids": _llm_inputs(segments=True)["segment_ids"]},
        (BATCH, SEQ, TINY["hidden_dim"]),
    )


def _low_rank_dense():
    from zoo.compress.low_rank import LowRankDense

    run_layer_test(LowRankDense, dict(units=3, rank=2, activation="relu"), _x(seq=4)[:, 0], (BATCH, 3))


# --- backbones ----------------------------------------------------------------------------------------------


def _backbone_case(cls_name, inputs, expected):
    def case():
        from zoo.llm.models import backbone

        cls = getattr(backbone, cls_name)
        run_backbone_test(
            cls, dict(config=_config(num_segments=2 if cls_name == "EncoderBackbone" else 0)), inputs(), expected
        )

    return case


# --- tasks: one fit step from the default compile, a save/load and mixed precision --------------------------


def _task_case(task, build_options, inputs, labels, expected, **fields):
    def case():
        from zoo.llm import build_llm

        def build(dtype=None):
            return build_llm(task, config=_config(**fields), dtype=dtype, **build_options)

        model = build()
        x = inputs()
        run_model_saving_test(model, x)
        run_precision_test(build, lambda m: m(x))
        y, weights = labels(x)
        run_task_test(model, x, y, sample_weight=weights, expected_output_shape=expected)

    return case


def _causal_labels(x):
    return np.roll(x["token_ids"], -1, axis=1), x["padding_mask"].astype("float32")


def _class_labels(x):
    return np.array([0, 2]), None


def _span_labels(x):
    return {"start_logits": np.array([1, 2]), "end_logits": np.array([3, 4])}, None


def _masked_inputs():
    x = _llm_inputs(segments=True)
    x["mask_positions"] = np.array([[1, 3], [2, 5]], "int32")
    return x


def _masked_labels(x):
    mlm = np.take_along_axis(x["token_ids"], x["mask_positions"], axis=1)
    return {"mlm": mlm, "nsp": np.array([0, 1])}, {"mlm": np.ones((BATCH, 2), "float32"), "nsp": np.ones(BATCH)}


def _seq2seq_labels(x):
    return np.roll(x["decoder_token_ids"], -1, axis=1), x["decoder_padding_mask"].astype("float32")


# --- models that are not LLMs -------------------------------------------------------------------------------


def _gan():
    from zoo import build_gan

    gan = build_gan(seed=0)
    noise = np.random.default_rng(1).normal(size=(4, gan.latent_dim)).astype("float32")
    run_model_saving_test(gan, noise)
    images = np.random.default_rng(0).uniform(-1, 1, size=(4, 28, 28, 1)).astype("float32")
    run_task_test(gan, images, call_input=noise, expected_output_shape=(4, 28, 28, 1))


def _distiller():
    from zoo.compress.distill import Distiller

    def mlp(units):
        layers = [keras.Input((6,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(3)]
        return keras.Sequential(layers)

    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    y = np.arange(8) % 3
    distiller = Distiller(mlp(4), mlp(16), alpha=0.5, temperature=2.0)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2))
    run_model_saving_test(distiller, x)
    # The teacher is frozen: only the student's weights are trainable, and all of them move.
    assert {v.path for v in distiller.trainable_variables} == {v.path for v in distiller.student.trainable_variables}
    run_task_test(distiller, x, y, expected_output_shape=(8, 3))


def _dpo_trainer():
    from zoo.dialogue.dpo import DPOTrainer, pair_arrays
    from zoo.llm import build_llm

    policy = build_llm("causal", config=_config(), compile=False)
    reference = build_llm("causal", config=_config(), compile=False)
    reference.set_weights(policy.get_weights())
    rows = [([5, 6, 7], [8, 9], [10, 11, 12]), ([7, 8], [13], [14, 15])]
    pairs = pair_arrays(rows, seq_len=SEQ - 1, pad_id=0)
    trainer = DPOTrainer(policy, reference, beta=0.1)
    run_model_saving_test(trainer, pairs)
    # One fit step moves every policy weight and no reference weight (the reference is frozen).
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [np.array(w) for w in reference.weights]
    _one_fit_step(trainer, pairs, None)
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(before, reference.weights))


# --- objects that are not layers ----------------------------------------------------------------------------


def _warmup_decay():
    from zoo.train.schedules import WarmupDecay

    run_serialization_test(WarmupDecay(1e-3, 100, 10, "cosine", 1e-4), lambda s: [s(step) for step in (0, 9, 50, 100)])


def _flexible_crossentropy():
    from zoo.losses import FlexibleCrossentropy

    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    run_serialization_test(FlexibleCrossentropy(), lambda loss: loss(np.array([0, 2]), probs))


def _token_crossentropy():
    from zoo.losses import TokenCrossentropy

    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.3, 1.2]], "float32")
    again = run_serialization_test(TokenCrossentropy(), lambda loss: loss(np.array([0, 2]), logits))
    # Independent of the class: the mean of logsumexp(row) - logit[label], in numpy.
    expected = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[[0, 1], [0, 2]])
    np.testing.assert_allclose(float(again(np.array([0, 2]), logits)), expected, rtol=1e-5)


def _softened_distillation():
    from zoo.compress.distill import SoftenedDistillation

    teacher = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    student = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]], "float32")
    loss = SoftenedDistillation(temperature=2.0, from_logits=False)
    again = run_serialization_test(loss, lambda copy: copy.compute_loss(teacher, student))
    assert again.from_logits is False and again.temperature == 2.0
    assert float(loss.compute_loss(teacher, student)) > 0.0 == float(loss.compute_loss(teacher, teacher))


_TEXTS = ["吾輩は猫である。名前はまだ無い。", "The cat sat on the mat.", "A dog ran in the park."] * 40


def _tokenizer_case(kind, vocab_size):
    def case():
        from zoo.data.tokenizer import train_tokenizer

        tokenizer = train_tokenizer(_TEXTS, kind=kind, vocab_size=vocab_size)
        # A tokenizer keeps its vocabulary in assets, not in its config (keras-hub's layout), as
        # `.keras` saving does: the copy from the config loads the saved assets.
        again = run_config_round_trip(tokenizer)
        with tempfile.TemporaryDirectory() as folder:
            tokenizer.save_assets(folder)
            again.load_assets(folder)
        texts = ["The cat sat.", "吾輩は猫"]
        as_lists = lambda ids: ids.to_list() if hasattr(ids, "to_list") else ids  # noqa: E731  (ragged or lists)
        assert as_lists(again.tokenize(texts)) == as_lists(tokenizer.tokenize(texts))
        assert again.vocabulary_size() == tokenizer.vocabulary_size() and again.mask_token_id == tokenizer.mask_token_id

    return case


def _mask_generator():
    from zoo.data.masking import SeededMaskedLMMaskGenerator

    generator = SeededMaskedLMMaskGenerator(100, 0.5, 4, unselectable_token_ids=[0], seed=7)
    x = [[5, 6, 7, 8, 9, 10, 11, 12]]
    # A fresh copy from the config starts from the same seed, so it draws the same masks.
    run_serialization_test(generator, lambda g: {k: v for k, v in g(x).items()})


CASES = {
    "zoo>MultiHeadAttention": _attention_case("full"),
    "zoo>SlidingWindowAttention": _attention_case("sliding_window", window=3, block_size=4, global_tokens=1),
    "zoo>BlockSparseAttention": _attention_case(
        "block_sparse", block_size=2, local_blocks=1, block_stride=2, max_length=16
    ),
    "zoo>AxialAttention": _attention_case("axial", row_length=4),
    "zoo>LSHAttention": _attention_case("lsh", chunk_size=4, num_buckets=4, num_hashes=2),
    "zoo>TransformerBlock": _transformer_block,
    "zoo>ReversibleStack": _reversible_stack,
    "zoo>LLMEmbeddings": _embeddings,
    "zoo>LowRankDense": _low_rank_dense,
    "zoo>CausalBackbone": _backbone_case("CausalBackbone", _llm_inputs, (BATCH, SEQ, TINY["hidden_dim"])),
    "zoo>EncoderBackbone": _backbone_case(
        "EncoderBackbone", lambda: _llm_inputs(segments=True), (BATCH, SEQ, TINY["hidden_dim"])
    ),
    "zoo>Seq2SeqBackbone": _backbone_case(
        "Seq2SeqBackbone",
        _seq2seq_inputs,
        {
            "encoder_sequence_output": (BATCH, SEQ, TINY["hidden_dim"]),
            "decoder_sequence_output": (BATCH, SEQ, TINY["hidden_dim"]),
        },
    ),
    "zoo>CausalLM": _task_case("causal", {}, _llm_inputs, _causal_labels, (BATCH, SEQ, TINY["vocab_size"])),
    "zoo>MaskedLM": _task_case(
        "masked",
        {},
        _masked_inputs,
        _masked_labels,
        {"mlm": (BATCH, 2, TINY["vocab_size"]), "nsp": (BATCH, 2)},
        num_segments=2,
        next_sentence_prediction=True,
    ),
    "zoo>Seq2SeqLM": _task_case("seq2seq", {}, _seq2seq_inputs, _seq2seq_labels, (BATCH, SEQ, TINY["vocab_size"])),
    "zoo>SequenceClassifier": _task_case(
        "classifier",
        dict(num_classes=3, backbone_type="encoder"),
        lambda: _llm_inputs(segments=True),
        _class_labels,
        (BATCH, 3),
        num_segments=2,
    ),
    "zoo>QuestionAnswering": _task_case(
        "qa", {}, _llm_inputs, _span_labels, {"start_logits": (BATCH, SEQ), "end_logits": (BATCH, SEQ)}
    ),
    "zoo>GAN": _gan,
    "zoo>Distiller": _distiller,
    "zoo>SoftenedDistillation": _softened_distillation,
    "zoo>DPOTrainer": _dpo_trainer,
    "zoo>WarmupDecay": _warmup_decay,
    "zoo>FlexibleCrossentropy": _flexible_crossentropy,
    "zoo>TokenCrossentropy": _token_crossentropy,
    "zoo>ZooSentencePieceTokenizer": _tokenizer_case("sentencepiece-unigram", 297),
    "zoo>ZooWordPieceTokenizer": _tokenizer_case("wordpiece", 60),
    "zoo>ZooBytePairTokenizer": _tokenizer_case("byte-bpe", 300),
    "zoo>SeededMaskedLMMaskGenerator": _mask_generator,
}


def registered_zoo_classes():
    """Import every zoo module, then list what it registered under the "zoo" package."""
    import zoo

    for module in pkgutil.walk_packages(zoo.__path__, "zoo."):
        importlib.import_module(module.name)
    return sorted(name for name in keras.saving.get_custom_objects() if name.startswith("zoo>"))


def test_every_registered_class_has_a_harness_case():
    registered = registered_zoo_classes()
    missing = sorted(set(registered) - set(CASES))
    assert not missing, f"registered without a harness case in tests/test_harness.py: {missing}"
    stale = sorted(set(CASES) - set(registered))
    assert not stale, f"harness cases for classes no longer registered: {stale}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_harness_case(name):
    CASES[name]()
