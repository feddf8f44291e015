"""Every kind and head: output shapes, .keras save -> load (safe_mode) and a fit that learns."""

import keras
import numpy as np
import pytest

from tests.harness import run_model_saving_test
from zoo.llm import build_llm
from zoo.llm.models.batches import causal_lm_batch, masked_lm_batch, seq2seq_batch
from zoo.llm.models.tasks import CausalLM, MaskedLM, QuestionAnswering, Seq2SeqLM, SequenceClassifier

from .conftest import SEQ, TINY, inputs_for

# (kind, overrides, build options, model class): together they cover every head,
# pre/post norm, the three position encodings, tied/untied outputs and no-bias layers.
CASES = {
    "causal": ("causal", {}, {}, CausalLM),
    "causal-rotary-post-untied": (
        "causal",
        dict(position="rotary", norm="post", tie_embeddings=False, dropout=0.1),
        {},
        CausalLM,
    ),
    "causal-sinusoidal-nobias": (
        "causal",
        dict(position="sinusoidal", use_bias=False, activation="relu"),
        {},
        CausalLM,
    ),
    "masked-nsp": (
        "masked",
        dict(num_segments=2, next_sentence_prediction=True, norm="post", embedding_norm=True),
        {},
        MaskedLM,
    ),
    "masked-untied": ("masked", dict(tie_embeddings=False, activation="silu"), {}, MaskedLM),
    "seq2seq": (
        "seq2seq",
        dict(position="sinusoidal", scale_embeddings=True, norm="post", activation="relu"),
        {},
        Seq2SeqLM,
    ),
    "classifier-nli": (
        "classifier",
        dict(num_segments=2),
        dict(num_classes=3, backbone_type="encoder"),
        SequenceClassifier,
    ),
    "classifier-causal": ("classifier", {}, dict(backbone_type="causal"), SequenceClassifier),
    "qa": ("qa", {}, {}, QuestionAnswering),
}


def build(case, **extra):
    kind, overrides, options, _ = CASES[case]
    return build_llm(kind, config={**TINY, **overrides}, **options, **extra)


def case_inputs(case):
    kind, overrides, _, _ = CASES[case]
    return inputs_for(kind, segments=bool(overrides.get("num_segments")))


@pytest.mark.parametrize("case", list(CASES))
def test_save_load_gives_identical_outputs(case):
    # Every variant (norms, positions, tied/untied, heads) through the harness's .keras save/load.
    model = build(case)
    assert isinstance(model, CASES[case][3])
    loaded = run_model_saving_test(model, case_inputs(case))
    assert loaded.llm_config == model.llm_config
    assert loaded.optimizer is not None  # compiled again from the saved compile config


def test_output_shapes():
    batch, vocab = 4, TINY["vocab_size"]
    assert build("causal")(case_inputs("causal")).shape == (batch, SEQ, vocab)
    out = build("masked-nsp")(case_inputs("masked-nsp"))
    assert out["mlm"].shape == (batch, 2, vocab) and out["nsp"].shape == (batch, 2)
    assert build("seq2seq")(case_inputs("seq2seq")).shape == (batch, SEQ, vocab)
    assert build("classifier-nli")(case_inputs("classifier-nli")).shape == (batch, 3)
    spans = build("qa")(case_inputs("qa"))
    assert spans["start_logits"].shape == (batch, SEQ)
    # Padding positions can never be chosen as an answer boundary.
    assert float(np.max(np.asarray(spans["end_logits"])[0, -2:])) < -1e8


def test_causal_model_does_not_look_ahead():
    model = build("causal")
    x = inputs_for("causal")
    changed = {k: v.copy() for k, v in x.items()}
    changed["token_ids"][:, -1] = (changed["token_ids"][:, -1] + 1) % TINY["vocab_size"]
    a, b = np.asarray(model(x)), np.asarray(model(changed))
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], atol=1e-5)
    assert not np.allclose(a[1:, -1], b[1:, -1])


def _losses(model, x, y, w=None, steps=30):
    # train_on_batch runs the same compiled train_step as fit() without per-epoch overhead.
    losses = [model.train_on_batch(x, y, sample_weight=w) for _ in range(steps)]
    return [float(loss[0] if isinstance(loss, list) else loss) for loss in losses]


def _fit_data(case):
    rng = np.random.default_rng(1)
    vocab = TINY["vocab_size"]
    ids = rng.integers(1, vocab, (8, SEQ + 1)).astype("int32")
    if case == "causal":
        return causal_lm_batch(ids)
    if case == "seq2seq":
        return seq2seq_batch(ids[:, :SEQ], ids[:, ::-1])
    if case == "masked-nsp":
        x, labels, weights = masked_lm_batch(
            ids[:, :SEQ], mask_token_id=vocab - 1, num_masked=2, vocab_size=vocab, seed=0
        )
        x["segment_ids"] = (np.arange(SEQ)[None] >= SEQ // 2).astype("int32").repeat(8, 0)
        nsp = rng.integers(0, 2, (8,))
        return x, {"mlm": labels, "nsp": nsp}, {"mlm": weights, "nsp": np.ones(8, "float32")}
    x = {"token_ids": ids[:, :SEQ], "padding_mask": np.ones((8, SEQ), "int32")}
    if case == "classifier-nli":
        x["segment_ids"] = (np.arange(SEQ)[None] >= SEQ // 2).astype("int32").repeat(8, 0)
        return x, rng.integers(0, 3, (8,)), None
    if case == "qa":
        start = rng.integers(0, SEQ - 2, (8,))
        return x, {"start_logits": start, "end_logits": start + 1}, None
    raise KeyError(case)


def test_fit_with_default_compile_lowers_the_loss():
    keras.utils.set_random_seed(0)
    model = build("causal", learning_rate=3e-3)
    x, y, w = _fit_data("causal")
    history = model.fit(x, y, sample_weight=w, batch_size=8, epochs=30, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("case", ["masked-nsp", "seq2seq", "classifier-nli", "qa"])
def test_every_head_learns(case):
    keras.utils.set_random_seed(0)
    # Default compile (AdamW, cross-entropy on logits); a larger step than the 1e-3
    # default so that a 30-step run on one batch shows learning clearly.
    model = build(case, learning_rate=3e-3)
    x, y, w = _fit_data(case)
    losses = _losses(model, x, y, w)
    assert losses[-1] < 0.8 * losses[0], losses


def test_masked_lm_batch_masks_only_real_tokens():
    ids = np.array([[5, 6, 7, 8, 0, 0]])
    x, labels, weights = masked_lm_batch(ids, mask_token_id=63, num_masked=3, vocab_size=64, seed=0)
    assert set(x["mask_positions"][0].tolist()) <= {0, 1, 2, 3}
    assert labels[0].tolist() == ids[0, x["mask_positions"][0]].tolist()
    assert weights.tolist() == [[1.0, 1.0, 1.0]]


def test_load_llm_in_a_fresh_process(tmp_path):
    # A new interpreter knows nothing of zoo's classes until load_llm registers them.
    import subprocess
    import sys

    model = build("causal")
    x = case_inputs("causal")
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x["token_ids"])
    np.save(tmp_path / "y.npy", np.asarray(model(x)))
    script = (
        "import numpy as np; from zoo.llm import load_llm; "
        f"m = load_llm({str(path)!r}); ids = np.load({str(tmp_path / 'x.npy')!r}); "
        "out = np.asarray(m({'token_ids': ids, 'padding_mask': (ids != 0).astype('int32')})); "
        f"np.testing.assert_array_equal(out, np.load({str(tmp_path / 'y.npy')!r}))"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)


def test_mixed_precision_trains_and_keeps_float32_logits():
    model = build("causal", dtype="mixed_bfloat16", learning_rate=3e-3)
    x, y, w = _fit_data("causal")
    assert model.backbone.blocks[0].compute_dtype == "bfloat16"
    assert model.backbone.blocks[0].ffn_in.kernel.dtype == "float32"  # master weights stay float32
    logits = model(x)
    assert str(logits.dtype) in ("float32", "<dtype: 'float32'>")
    losses = _losses(model, x, y, w, steps=10)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert len(model.generate([[1, 2, 3]], max_new_tokens=3)[0]) == 3


def test_accuracy_counts_only_real_tokens_of_a_padded_batch():
    # compile() puts accuracy in weighted_metrics: positions with sample weight 0 (padding) count
    # in neither loss nor accuracy. The padded labels here are exactly what the model predicts,
    # so an accuracy that counted them would come out higher than the one over real tokens.
    model = build("causal")
    ids = np.random.default_rng(3).integers(1, TINY["vocab_size"], (4, SEQ + 1)).astype("int32")
    ids[:2, -4:] = 0  # two rows end in padding
    x, y, w = causal_lm_batch(ids)
    predicted = np.argmax(np.asarray(model(x)), axis=-1)
    y = np.where(w == 0, predicted, y)  # padding "correct"
    y[2:, :3] = predicted[2:, :3]  # a few real tokens correct too, so the accuracy is not 0
    real_accuracy = float(((predicted == y) * w).sum() / w.sum())
    all_accuracy = float((predicted == y).mean())
    assert all_accuracy > real_accuracy + 0.05
    result = model.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0, return_dict=True)
    assert result["accuracy"] == pytest.approx(real_accuracy, abs=1e-6)


def _topic_pairs(n, seed, half=SEQ):
    """Sentence pairs for NSP: B follows A (label 1) when both come from the same topic (token range)."""
    rng = np.random.default_rng(seed)
    topic_a, label = rng.integers(0, 2, n), rng.integers(0, 2, n)
    topic_b = np.where(label == 1, topic_a, 1 - topic_a)
    a = rng.integers(0, 30, (n, half)) + (2 + 30 * topic_a)[:, None]
    b = rng.integers(0, 30, (n, half)) + (2 + 30 * topic_b)[:, None]
    ids = np.concatenate([a, b], 1).astype("int32")
    x = {
        "token_ids": ids,
        "padding_mask": np.ones_like(ids),
        "segment_ids": (np.arange(2 * half)[None] >= half).astype("int32").repeat(n, 0),
        "mask_positions": np.zeros((n, 1), "int32"),
    }
    # Only NSP is trained here: the MLM position has weight 0.
    return x, {"mlm": ids[:, :1], "nsp": label}, {"mlm": np.zeros((n, 1), "float32"), "nsp": np.ones(n, "float32")}


def test_next_sentence_prediction_beats_chance_on_held_out_pairs():
    # NSP vs 0.5: on pairs it never saw, the trained head is right far more often than a coin.
    keras.utils.set_random_seed(0)
    # Width 32: at width 16 some seeds stay at chance within this budget.
    config = dict(TINY, hidden_dim=32, intermediate_dim=64, num_segments=2, next_sentence_prediction=True)
    model = build_llm("masked", config=config, learning_rate=3e-3)
    x, y, w = _topic_pairs(512, seed=0)
    model.fit(x, y, sample_weight=w, batch_size=32, epochs=8, verbose=0)
    x_test, y_test, w_test = _topic_pairs(128, seed=1)
    result = model.evaluate(x_test, y_test, sample_weight=w_test, verbose=0, return_dict=True)
    # 0.75 is 5.6 standard deviations above what guessing gets on 128 pairs.
    assert result["nsp_accuracy"] > 0.75, result
