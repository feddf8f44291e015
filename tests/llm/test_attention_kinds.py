"""Efficient attention kinds: each equals full attention where it should, ignores the future when
causal, matches its own dense mask, decodes correctly, saves and loads, and rejects bad settings
(each layer's config round trip, fit step and mixed precision run in tests/test_harness.py)."""

import numpy as np
import pytest

from zoo.llm.attention import get_attention_class
from zoo.llm.attention.full import MultiHeadAttention

HEADS, HEAD_DIM, WIDTH = 2, 4, 8


def _x(n=10, seed=0, batch=2):
    return np.random.default_rng(seed).normal(size=(batch, n, WIDTH)).astype("float32")


def _padding(n=10, batch=2):
    mask = np.ones((batch, n), "int32")
    mask[0, -3:] = 0  # row 0 ends in padding
    return mask


def _pair(kind, causal, **options):
    """A layer of `kind` and a full-attention layer with the same projection weights."""
    layer = get_attention_class(kind)(HEADS, HEAD_DIM, causal=causal, **options)
    full = MultiHeadAttention(HEADS, HEAD_DIM, causal=causal)
    layer(_x(4, batch=1))
    full(_x(4, batch=1))
    full.qkv_dense.set_weights(layer.qkv_dense.get_weights())
    full.output_dense.set_weights(layer.output_dense.get_weights())
    return layer, full


CASES_EQUAL_FULL = [
    # A window at least as long as the sequence (10; blocks of 4, so padding is exercised too).
    ("sliding_window", dict(window=10, block_size=4)),
    ("sliding_window", dict(window=64, block_size=4, global_tokens=2)),
    # Every block on: neighbours reach across all 3 blocks.
    ("block_sparse", dict(block_size=4, local_blocks=3, global_blocks=0)),
    ("block_sparse", dict(block_size=4, local_blocks=0, global_blocks=0, block_stride=1, max_length=16)),
    # A one-row grid.
    ("axial", dict(row_length=16)),
]


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("kind, options", CASES_EQUAL_FULL)
def test_kind_equals_full_attention_when_it_covers_everything(kind, options, causal):
    layer, full = _pair(kind, causal, **options)
    x, mask = _x(), _padding()
    np.testing.assert_allclose(layer(x, padding_mask=mask), full(x, padding_mask=mask), atol=1e-5)


@pytest.mark.parametrize("causal", [True, False])
def test_lsh_one_bucket_one_round_equals_shared_qk_full_attention(causal):
    layer = get_attention_class("lsh")(HEADS, HEAD_DIM, causal=causal, chunk_size=16, num_buckets=1, num_hashes=1)
    x, mask = _x(), _padding()
    out = np.asarray(layer(x, padding_mask=mask))

    # Reference in numpy: keys are the unit-length queries, own key only as a last resort.
    kernel, bias = layer.qkv_dense.get_weights()
    qkv = (x @ kernel + bias).reshape(2, 10, 3, HEADS, HEAD_DIM)
    q, v = qkv[:, :, 0], qkv[:, :, 2]
    k = q / np.sqrt((q**2).sum(-1, keepdims=True) + 1e-6)
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(HEAD_DIM) - 1e5 * np.eye(10)
    allowed = mask[:, None, None, :].astype(bool)
    if causal:
        allowed = allowed & np.tril(np.ones((10, 10), bool))
    scores = np.where(allowed, scores, -1e9)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    heads_out = np.einsum("bhqk,bkhd->bqhd", probs, v).reshape(2, 10, WIDTH)
    out_kernel, out_bias = layer.output_dense.get_weights()
    real = mask.astype(bool)  # outputs at padding positions mean nothing
    np.testing.assert_allclose(out[real], (heads_out @ out_kernel + out_bias)[real], atol=1e-4)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize(
    "kind, options",
    [
        ("sliding_window", dict(window=3, block_size=4, global_tokens=2)),
        ("sliding_window", dict(window=6, block_size=2)),
        ("block_sparse", dict(block_size=2, local_blocks=1, global_blocks=1, block_stride=3, max_length=16)),
    ],
)
def test_blocked_computation_equals_its_dense_mask(kind, options, causal):
    """The block-by-block path gives the same result as masking a full [n, n] score matrix."""
    layer, _ = _pair(kind, causal, **options)
    x, mask = _x(11), _padding(11)
    dense = MultiHeadAttention.attend_sequence  # the [n, n] mask from layer.attention_mask
    qkv = np.asarray(layer.qkv_dense(x)).reshape(2, 11, 3, HEADS, HEAD_DIM)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    np.testing.assert_allclose(layer.attend_sequence(q, k, v, mask), dense(layer, q, k, v, mask), atol=1e-5)
    assert not np.asarray(layer.attention_mask(np.arange(11), np.arange(11))).all()  # really sparse


@pytest.mark.parametrize(
    "kind, options",
    [
        ("full", {}),
        ("sliding_window", dict(window=3, block_size=4, global_tokens=1)),
        ("block_sparse", dict(block_size=2, local_blocks=1, block_stride=2, max_length=16)),
        ("axial", dict(row_length=4)),
        ("lsh", dict(chunk_size=4, num_buckets=4, num_hashes=2)),
    ],
)
def test_causal_kind_ignores_the_future(kind, options):
    layer = get_attention_class(kind)(HEADS, HEAD_DIM, causal=True, **options)
    x = _x(12, seed=1)
    later = x.copy()
    later[:, 7:] = np.random.default_rng(5).normal(size=later[:, 7:].shape) * 3
    before, after = np.asarray(layer(x)), np.asarray(layer(later))
    np.testing.assert_allclose(before[:, :7], after[:, :7], atol=1e-5)
    assert np.abs(before[:, 7:] - after[:, 7:]).max() > 1e-3  # the later outputs did change


def test_model_saves_loads_and_refuses_a_cache():
    """Save -> load (safe_mode) keeps the kind and its options; a model without a usable KV
    cache refuses a cached call (generate() recomputes for it instead)."""
    from tests.harness import run_model_saving_test
    from tests.llm.conftest import TINY, inputs_for
    from zoo.llm import build_llm
    from zoo.llm.layers.blocks import supports_kv_cache
    from zoo.llm.models.tasks import empty_cache

    fields = dict(attention="axial", attention_options=dict(row_length=3))
    model = build_llm("causal", config=dict(TINY, **fields), compile=False)
    x = inputs_for("causal")
    loaded = run_model_saving_test(model, x)
    assert loaded.llm_config == model.llm_config
    assert not supports_kv_cache(model.llm_config)
    with pytest.raises(ValueError, match="cache"):
        model.call_with_cache(x["token_ids"][:, :1], empty_cache(model, 4, 8), 0)


@pytest.mark.parametrize(
    "task, fields",
    [
        ("masked", dict(attention="axial", attention_options=dict(row_length=3))),
        ("seq2seq", dict(attention="block_sparse", attention_options=dict(block_size=4), reversible=True)),
    ],
)
def test_masked_and_seq2seq_models_take_efficient_kinds(task, fields):
    from tests.llm.conftest import TINY, inputs_for
    from zoo.llm import build_llm

    out = build_llm(task, config=dict(TINY, **fields), compile=False)(inputs_for(task))
    out = np.asarray(out["mlm"] if isinstance(out, dict) else out)
    assert out.shape[0] == 4 and np.isfinite(out).all()


@pytest.mark.parametrize(
    "kind, options",
    [
        ("sliding_window", dict(window=3, block_size=4, global_tokens=1)),
        ("block_sparse", dict(block_size=2, local_blocks=1, block_stride=2, max_length=16)),
    ],
)
def test_cached_decoding_equals_the_blocked_sequence(kind, options):
    """Feeding tokens one by one through the KV cache (a dense mask over the cache) gives the
    outputs of the block-by-block computation over the whole sequence."""
    layer = get_attention_class(kind)(HEADS, HEAD_DIM, causal=True, **options)
    x = _x(9, batch=1)
    whole = np.asarray(layer(x))
    cache = np.zeros((2, 1, HEADS, 9, HEAD_DIM), "float32")
    steps = []
    for t in range(9):
        out, cache = layer(x[:, t : t + 1], cache=cache, cache_index=t)
        steps.append(np.asarray(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), whole, atol=1e-5)


def test_kinds_without_cache_refuse_one():
    layer = get_attention_class("axial")(HEADS, HEAD_DIM, causal=True, row_length=4)
    with pytest.raises(ValueError, match="no key/value cache"):
        layer(_x(1), cache=np.zeros((2, 2, HEADS, 8, HEAD_DIM), "float32"), cache_index=0)


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(attention="sliding_window", attention_options=dict(window=0)), "window"),
        (dict(attention="sliding_window", attention_options=dict(window=-3)), "window"),
        (dict(attention="lsh", attention_options=dict(num_hashes=0)), "num_hashes"),
        (dict(attention="lsh", attention_options=dict(num_buckets=3)), "num_buckets"),
        (dict(attention="block_sparse", attention_options=dict(block_size=0)), "block_size"),
        (dict(attention="axial", attention_options=dict(row_length=0)), "row_length"),
        (dict(attention="sliding_window", attention_options=dict(global_tokens=-1)), "global_tokens"),
        (dict(attention="full", attention_options=dict(window=64)), "'full' has no option 'window'"),
        (dict(attention="lsh", attention_options=dict(window=64)), "Kinds with 'window': sliding_window"),
        (dict(attention="axial", lsh_num_hashes=0, axial_row_length=0), "row_length"),
        (dict(reversible=True, norm="post"), "norm='pre'"),
        (dict(reversible=True, dropout=0.1), "dropout"),
    ],
)
def test_bad_attention_settings_raise_clear_errors(fields, message):
    from zoo.llm.config import LLMConfig

    with pytest.raises(ValueError, match=message):
        LLMConfig(**fields)


def test_layer_rejects_bad_window_and_rounds():
    with pytest.raises(ValueError, match="window"):
        get_attention_class("sliding_window")(HEADS, HEAD_DIM, window=0)
    with pytest.raises(ValueError, match="num_hashes"):
        get_attention_class("lsh")(HEADS, HEAD_DIM, num_hashes=0)
    with pytest.raises(ValueError, match="Unknown attention kind"):
        get_attention_class("linear")


def test_config_round_trips_attention_fields():
    from zoo.llm.config import LLMConfig

    config = LLMConfig(attention="lsh", attention_options=dict(num_hashes=4, chunk_size=32), reversible=True)
    assert config.get_config()["attention_options"] == dict(chunk_size=32, num_buckets=8, num_hashes=4)
    assert LLMConfig.from_config(config.get_config()) == config
