"""Keras 3.15's LiteRT export (`zoo export --format litert`) and on-device generation (`--format litert-generate`)."""

import collections
import json
import os

import numpy as np
import pytest

from tests.export.conftest import make_run_folder, tiny_cnn
from tests.export.test_saved_model import export_with_cli


def test_keras_litert_export_matches_keras_for_the_cnn(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from zoo.export.reference import sample_inputs

    out = tmp_path / "saved_models"
    # The LSTM generator also exports through Keras (batch 1); benchmarks/litert_generate.py's run shows it.
    cases = {"cnn": (tiny_cnn(), "train-cnn", 4)}
    for name, (model, recipe, batch) in cases.items():
        summary = export_with_cli(
            make_run_folder(tmp_path / "runs", recipe, model), "--format", "litert", "--output", out
        )
        assert summary["engine"] == "keras", summary
        # The CNN keeps an open batch; the LSTM's loop lowers only with a batch of 1.
        assert summary["batch_size"] == (None if name == "cnn" else 1)
        (x,) = sample_inputs(
            model, "classifier" if name == "cnn" else "text_generator", "serving_default", batch=batch, seed=3
        ).values()
        runner = Interpreter(model_path=summary["path"]).get_signature_runner("serving_default")
        (got,) = runner(**{next(iter(runner.get_input_details())): x}).values()
        np.testing.assert_allclose(got, np.asarray(model(x)), atol=1e-5)
        meta = json.loads((out / model.name / "tflite" / "1" / "zoo_export.json").read_text())
        assert meta["engine"] == "keras" and meta["format"] == "litert"


def test_litert_generate_gives_keras_greedy_tokens_with_a_kv_cache(tmp_path):
    import keras

    from zoo.export.litert_generate import LiteRTGenerator, export_litert_generate
    from zoo.llm import build_llm

    keras.utils.set_random_seed(0)
    model = build_llm(
        "causal",
        "tiny",
        vocab_size=64,
        hidden_dim=16,
        num_heads=2,
        num_layers=2,
        intermediate_dim=32,
        max_length=16,
        compile=False,
    )
    # check=False: the test compares with Keras itself, on its own prompt (the check is the same comparison).
    result = export_litert_generate(model, str(tmp_path), name="tiny_lm", max_length=12, check=False)
    assert result.cache_shape == [4, 1, 2, 12, 8]  # [2 * layers (keys, values), batch, kv heads, max_length, head_dim]
    assert os.path.basename(result.path) == "generate.tflite"
    # The decode step writes the cache with the built-in DYNAMIC_UPDATE_SLICE, not a select over every position,
    # and reads it without slicing (each block's keys and values are their own tensors).
    decode_ops = tflite_ops(open(result.path, "rb").read(), "decode")
    assert decode_ops["DYNAMIC_UPDATE_SLICE"] == 2 * 2 and "SELECT_V2" not in decode_ops
    generator = LiteRTGenerator(result.path)
    # A prompt other than the export check's, long enough to fill the cache to its last position.
    prompt = [11, 3, 60, 7]
    want = model.generate([prompt], max_new_tokens=8, sampler="greedy", jit_compile=False)[0]
    assert generator.generate(prompt, max_new_tokens=8) == want
    assert len(generator.timings["decode_ms"]) == 7  # the first new token comes from the prefill
    assert generator.timings["prompt_by"] == "prefill"  # 4 tokens > max_length // 8
    # The prompt run as decode steps instead of the prefill signature: the same tokens.
    assert generator.generate(prompt, max_new_tokens=8, use_prefill=False) == want
    # A shorter prompt on the same interpreter, both ways: the previous run's tokens and cache leave no trace.
    short = model.generate([[9]], max_new_tokens=5, sampler="greedy", jit_compile=False)[0]
    assert generator.generate([9], max_new_tokens=5) == short and generator.timings["prompt_by"] == "decode"
    assert generator.generate([9], max_new_tokens=5, use_prefill=True) == short
    # Stopping: the row ends before the first stop token, as Keras' generate does.
    assert generator.generate(prompt, max_new_tokens=8, stop_token_ids=[want[2]]) == want[: want.index(want[2])]
    with pytest.raises(ValueError, match="exceeds the file's max_length 12; export with a larger --max-length"):
        generator.generate(prompt, max_new_tokens=9)


def tflite_ops(content, signature):
    """{op name: count} of one signature's subgraph in a TFLite flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = schema.Model.GetRootAs(content, 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        if graph.Name().decode() == signature:
            ops = [codes[graph.Operators(i).OpcodeIndex()] for i in range(graph.OperatorsLength())]
            # Codes past 127 live in BuiltinCode; DeprecatedBuiltinCode holds the small ones for old readers.
            return collections.Counter(names[max(op.BuiltinCode(), op.DeprecatedBuiltinCode())] for op in ops)
    raise AssertionError(f"no {signature} subgraph")


def test_litert_cache_writer_writes_what_the_select_writes():
    from zoo.export.litert_generate import KeyValues, write_key_values
    from zoo.llm.attention.full import write_cache

    rng = np.random.default_rng(0)
    cache = rng.normal(size=(2, 1, 2, 6, 3)).astype("float32")
    # One position (a decode step) anywhere, including the last, and a prompt of 3 at the start and inside.
    for index, count in [(0, 1), (3, 1), (5, 1), (0, 3), (2, 3)]:
        new = rng.normal(size=(2, 1, 2, count, 3)).astype("float32")
        written = write_key_values(KeyValues(cache[0], cache[1]), new, index)
        want = np.asarray(write_cache(cache, new, index, "select"))
        np.testing.assert_array_equal(np.asarray(written.keys), want[0])
        np.testing.assert_array_equal(np.asarray(written.values), want[1])
        assert written.dtype == cache.dtype and np.asarray(written[1]).shape == (1, 2, 6, 3)
