"""The `generate` signature decodes with a KV cache in core ops, and gives Keras' greedy tokens.

For full attention, a sliding window narrower than the sequence and a Llama-style
block (RMSNorm, gated MLP, grouped-query attention) the exported SavedModel is
loaded and run by zoo/export/verify.py in a fresh TensorFlow-only process; its
ids must equal Keras `generate` (with its own KV cache, XLA-compiled) exactly.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.export.conftest import run_verifier

CONFIGS = {
    "full": {},
    # A 4-token window over sequences of up to 16 tokens: the window really drops keys.
    "sliding_window": {"attention": "sliding_window", "attention_options": {"window": 4, "block_size": 4}},
    "llama_style": {"norm_type": "rmsnorm", "mlp": "gated", "num_key_value_heads": 1, "num_heads": 2},
}
# Right-padded with 0: rows of 4, 2 and 1 real tokens; the prefill covers the shortest one's.
PROMPTS = [[6, 20, 31, 5], [6, 7], [9]]
NEW_TOKENS = 10


def tiny(**overrides):
    from zoo.llm import build_llm

    settings = {
        "num_layers": 2,
        "hidden_dim": 16,
        "num_heads": 2,
        "intermediate_dim": 32,
        "vocab_size": 300,
        "max_length": 32,
        "compile": False,
    }
    return build_llm("causal", "tiny", **{**settings, **overrides})


def padded(prompts):
    out = np.zeros((len(prompts), max(len(p) for p in prompts)), "int32")
    for i, row in enumerate(prompts):
        out[i, : len(row)] = row
    return out


# The XLA-compiled `generate_xla` (export option xla_generate): same tokens, also for a one-token prompt.
XLA_CASES = {"batch": PROMPTS, "single": PROMPTS[:1], "one_token": [[9], [12]]}


def _cases(model, root, name, prompt_sets, signature, expected):
    cases = []
    for case, prompts in prompt_sets.items():
        tokens = model.generate(prompts, max_new_tokens=NEW_TOKENS)
        expected[name, case] = tokens
        stem = str(root / f"{name}-{case}")
        np.savez(
            f"{stem}-in.npz",
            prompt_ids=padded(prompts),
            max_new_tokens=np.full(len(prompts), NEW_TOKENS, "int32"),
            temperature=np.zeros(len(prompts), "float32"),
        )
        np.savez(
            f"{stem}-out.npz",
            generated_ids=np.array(tokens, "int32"),
            num_generated=np.full(len(prompts), NEW_TOKENS, "int32"),
        )
        cases.append(
            {"signature": signature, "inputs": f"{stem}-in.npz", "expected": f"{stem}-out.npz", "tolerance": 0}
        )
    return cases


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """(exit code, the verifier's report, Keras tokens per case) for every config, one verifier process."""
    from zoo.export.saved_model import export_saved_model

    root = tmp_path_factory.mktemp("generate-cache")
    entries, expected = [], {}
    for name, overrides in CONFIGS.items():
        model = tiny(**overrides)
        path = export_saved_model(model, str(root / "models"), name=name, check=False).path
        prompt_sets = {"batch": PROMPTS, "single": PROMPTS[:1]}
        entries.append({"path": path, "cases": _cases(model, root, name, prompt_sets, "generate", expected)})
    model = tiny(**CONFIGS["llama_style"])
    path = export_saved_model(model, str(root / "models"), name="xla", check=False, xla_generate=True).path
    entries.append({"path": path, "cases": _cases(model, root, "xla", XLA_CASES, "generate_xla", expected)})
    with open(root / "plan.json", "w", encoding="utf-8") as f:
        json.dump({"saved_models": entries}, f)
    code, report = run_verifier(["--plan", str(root / "plan.json")])
    return code, report, expected


def test_tensorflow_only_process_returns_keras_greedy_tokens_with_core_ops_only(verified):
    code, report, _ = verified
    assert not report["zoo_imported"]
    *plain, xla = report["saved_models"]
    for saved in plain:
        assert "load_error" not in saved, saved
        assert saved["non_core_ops"] == [], saved["path"]
        assert [c["passed"] for c in saved["cases"]] == [True, True], saved["cases"]
    # generate_xla loads and runs in the TensorFlow-only process with Keras' tokens; its XLA ops
    # (the in-place cache write) are what TF Serving runs only with XLA enabled, and the verifier's
    # exit code says so.
    assert "load_error" not in xla, xla
    assert [c["passed"] for c in xla["cases"]] == [True] * len(XLA_CASES), xla["cases"]
    assert xla["non_core_ops"] and all(op.startswith("Xla") for op in xla["non_core_ops"]), xla["non_core_ops"]
    assert code == 1


def test_keras_tokens_are_not_trivial(verified):
    # Guards the comparison above: rows differ from each other, so a mixed-up row would show.
    _, _, expected = verified
    for name in CONFIGS:
        rows = expected[name, "batch"]
        assert len({tuple(r) for r in rows}) > 1, name
        assert expected[name, "single"][0] == rows[0]


def test_cached_loop_equals_the_uncached_loop_and_restores_the_keras_cache_ops():
    from zoo.export.generate_loop import build_generate_fn

    model = tiny(**CONFIGS["llama_style"])
    specs = [
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None,), tf.int32),
        tf.TensorSpec((None,), tf.float32),
    ]
    graphs = {
        use_cache: tf.function(
            build_generate_fn(model, use_cache=use_cache), input_signature=specs, autograph=False
        ).get_concrete_function()
        for use_cache in (True, False)
    }
    args = (tf.constant(padded(PROMPTS)), tf.constant([NEW_TOKENS] * 3), tf.constant([0.0] * 3))
    cached, uncached = (graphs[flag](*args)["generated_ids"].numpy().tolist() for flag in (True, False))
    assert cached == uncached
    ops = {node.op for f in graphs[True].graph.as_graph_def().library.function for node in f.node_def}
    assert not any(op.startswith("Xla") for op in ops)
    # The cache is written in place, one fresh buffer per block (Empty is never merged by the optimizer).
    assert {"InplaceUpdate", "Empty"} <= ops
    # Tracing put the layers back the way Keras' own (XLA) generate wants them.
    from zoo.llm.attention.full import MultiHeadAttention

    assert {layer.cache_ops for layer in model._flatten_layers() if isinstance(layer, MultiHeadAttention)} == {"keras"}


@pytest.mark.parametrize("index, count", [(0, 3), (2, 1), (5, 1), (3, 3)])
def test_select_cache_write_equals_slice_update(index, count):
    from zoo.llm.attention.full import write_cache

    rng = np.random.default_rng(index)
    cache = rng.normal(size=(2, 2, 1, 6, 3)).astype("float32")
    new = rng.normal(size=(2, 2, 1, count, 3)).astype("float32")
    expected = cache.copy()
    expected[:, :, :, index : index + count] = new
    for mode in ("select", "slice"):
        np.testing.assert_array_equal(np.asarray(write_cache(cache, new, index, mode)), expected)


@pytest.mark.parametrize("index, count", [(0, 3), (2, 1), (5, 1), (3, 3)])
def test_in_place_cache_write_equals_the_numpy_assignment(index, count):
    from zoo.export.generate_loop import write_in_place

    rng = np.random.default_rng(index)
    cache = rng.normal(size=(2, 2, 3, 8, 4)).astype("float32")
    new = rng.normal(size=(2, 2, 3, count, 4)).astype("float32")
    expected = cache.copy()
    expected[:, :, :, index : index + count] = new

    @tf.function(autograph=False)
    def write(cache, new, index):
        # A buffer of its own (the op writes into its input), as the decode loop's caches are.
        return write_in_place(tf.identity(cache) + 0.0, new, index)

    np.testing.assert_array_equal(write(cache, new, tf.constant(index)).numpy(), expected)
    np.testing.assert_array_equal(cache[:, :, :, :index], expected[:, :, :, :index])  # the numpy input is untouched


def test_attention_without_a_cache_keeps_the_recomputing_loop_and_keras_tokens():
    from zoo.export.signatures import trace_signatures
    from zoo.llm.layers.blocks import supports_kv_cache

    model = tiny(attention="axial", attention_options={"row_length": 4})
    assert not supports_kv_cache(model.llm_config)
    fn = trace_signatures(model, "causal_lm")["generate"]
    out = fn(
        prompt_ids=tf.constant(padded(PROMPTS)),
        max_new_tokens=tf.constant([NEW_TOKENS] * 3),
        temperature=tf.constant([0.0] * 3),
    )
    assert out["generated_ids"].numpy().tolist() == model.generate(PROMPTS, max_new_tokens=NEW_TOKENS)
