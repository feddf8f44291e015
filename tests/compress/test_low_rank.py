"""Low-rank factorization: SVD factors, rank choice by energy, factored CNN and LLM, bad ranks."""

import numpy as np
import pytest


def test_svd_factors_are_the_best_approximation_and_exact_at_full_rank():
    from zoo.compress.low_rank import svd_factors

    w = np.random.default_rng(0).normal(size=(12, 7))
    a, b, r, kept = svd_factors(w, rank=7)
    np.testing.assert_allclose(a @ b, w, atol=1e-5)
    assert (r, a.shape, b.shape) == (7, (12, 7), (7, 7)) and kept == pytest.approx(1.0)
    errors = [np.linalg.norm(np.dot(*svd_factors(w, rank=k)[:2]) - w) for k in (1, 3, 5)]
    assert errors[0] > errors[1] > errors[2]
    s = np.linalg.svd(w, compute_uv=False)
    # Eckart-Young: the rank-3 error is the norm of the dropped singular values.
    assert errors[1] == pytest.approx(np.sqrt((s[3:] ** 2).sum()), rel=1e-4)


def test_rank_for_energy_picks_the_smallest_rank_that_keeps_the_share():
    from zoo.compress.low_rank import rank_for_energy, svd_factors

    assert rank_for_energy([3.0, 1.0, 0.0], 0.9) == 1
    assert rank_for_energy([3.0, 1.0, 0.0], 0.95) == 2
    assert rank_for_energy([1.0, 1.0, 1.0, 1.0], 1.0) == 4
    w = np.random.default_rng(1).normal(size=(20, 10))
    _, _, r, kept = svd_factors(w, energy=0.8)
    assert kept >= 0.8 and svd_factors(w, rank=r - 1)[3] < 0.8


def test_bad_ranks_and_energies_fail_clearly():
    from zoo import build_cnn
    from zoo.compress.low_rank import factorize_model, svd_factors

    w = np.ones((6, 4))
    with pytest.raises(ValueError, match="rank 5 is larger than min\\(m, n\\) = 4"):
        svd_factors(w, rank=5)
    with pytest.raises(ValueError, match="positive integer"):
        svd_factors(w, rank=0)
    with pytest.raises(ValueError, match="energy .* \\(0, 1\\]"):
        svd_factors(w, energy=1.5)
    with pytest.raises(ValueError, match="exactly one of rank= .* or energy="):
        svd_factors(w)
    with pytest.raises(ValueError, match="rank 11 is larger than min\\(m, n\\) = 10 .*'probabilities'"):
        factorize_model(build_cnn(compile=False), rank=11)


def test_factored_cnn_saves_parameters_predicts_alike_at_full_rank_and_round_trips(tmp_path):
    import keras

    from zoo import build_cnn
    from zoo.compress.low_rank import LowRankDense, factorize_model, svd_factors

    model = build_cnn(compile=False)
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    small, report = factorize_model(model, rank=8, layer_names=["dense"])
    assert isinstance(small.get_layer("dense"), LowRankDense)
    assert report["layers"]["dense"]["params_after"] == 8 * (576 + 64)
    assert report["params_after"] == small.count_params() == model.count_params() - 576 * 64 + 8 * 640
    # Rank 64 is the Dense kernel's full rank: the product is the same matrix (but saves nothing, so it is kept).
    same, report = factorize_model(model, rank=64, layer_names=["dense"])
    assert report["layers"]["dense"]["factored"] is False
    a, b, _, _ = svd_factors(model.get_layer("dense").get_weights()[0], rank=64)
    np.testing.assert_allclose(a @ b, model.get_layer("dense").get_weights()[0], atol=1e-5)
    small.save(tmp_path / "small.keras")
    loaded = keras.saving.load_model(tmp_path / "small.keras", compile=False)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(small(images)), atol=1e-6)


def test_factorize_llm_swaps_block_layers_and_trains():
    from zoo.compress.low_rank import LowRankDense, factorize_llm
    from zoo.llm import build_llm

    model = build_llm(
        "causal",
        "tiny",
        vocab_size=60,
        max_length=16,
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=64,
        compile=False,
    )
    model.compile(run_eagerly=True)  # tracing costs more than this one step
    report = factorize_llm(model, rank=4)
    block = model.backbone.blocks[0]
    assert isinstance(block.ffn_in, LowRankDense) and isinstance(block.ffn_out, LowRankDense)
    assert report["params_before"] - report["params_after"] == 2 * (16 * 64 - 4 * (16 + 64))
    assert model.count_params() == report["params_after"]
    ids = np.random.default_rng(0).integers(7, 60, (4, 9)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}
    kernel_a = block.ffn_in.kernel_a.numpy().copy()
    history = model.fit(x, ids[:, 1:], epochs=1, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert not np.array_equal(block.ffn_in.kernel_a.numpy(), kernel_a)
    with pytest.raises(ValueError, match="larger than min\\(m, n\\) = 16"):
        factorize_llm(
            build_llm(
                "causal",
                "tiny",
                vocab_size=60,
                max_length=16,
                num_layers=1,
                hidden_dim=16,
                num_heads=2,
                intermediate_dim=64,
            ),
            rank=17,
        )
