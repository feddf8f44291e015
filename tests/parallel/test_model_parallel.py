"""Model parallel with keras.distribution on the JAX backend (4 virtual CPU devices, in a subprocess)."""

import importlib.util

import pytest

from tests.parallel.helpers import run_job

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install 'zoo[jax]')"),
    pytest.mark.recipe,  # a whole training job in a subprocess: `make test-fast` skips it
]


@pytest.fixture(scope="module")
def job():
    return run_job(
        "model_parallel_job.py",
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=4",
        JAX_PLATFORMS="cpu",
    )


def test_sharded_model_trains_like_the_unsharded_one(job):
    assert job["backend"] == "jax" and job["devices"] == 4
    assert job["plain"][-1] < job["plain"][0]
    # Same initial weights and batches: GSPMD's collectives change only float rounding.
    assert job["model_parallel"] == pytest.approx(job["plain"], abs=1e-4)
    assert job["data_parallel"] == pytest.approx(job["plain"], abs=1e-4)


def test_attention_and_feed_forward_weights_are_sharded(job):
    shardings = job["shardings"]
    assert shardings["block_0/self_attention/qkv/kernel"] == [None, "model"]
    assert shardings["block_0/self_attention/output/kernel"] == ["model", None]
    assert shardings["block_0/ffn_in/kernel"] == [None, "model"]
    assert shardings["block_0/ffn_out/kernel"] == ["model", None]
    assert shardings["embeddings/token_embedding/embeddings"] == [None, None]
    # Each of the 4 devices holds half of the (16, 48) qkv kernel's columns and half of ffn_out's rows.
    assert job["qkv_shards"] == [[16, 24]] * 4
    assert job["ffn_out_shards"] == [[16, 16]] * 4


def test_mesh_errors_are_clear(job):
    assert "does not divide num_heads 2" in job["errors"]["heads"]
    assert "needs 2 devices, 4 are visible" in job["errors"]["devices"]
