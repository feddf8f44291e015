"""Data parallel on CPU: Mirrored over 2 logical CPUs follows one device's loss trajectory for the same
global batch; a 2-replica checkpoint resumes on 1 device; pipeline stages land on the 2 devices."""

import pytest

from tests.parallel.helpers import run_job

pytestmark = pytest.mark.recipe  # whole training jobs in a subprocess: `make test-fast` skips them

# Tolerance: the 2 replicas sum two half-batch gradients instead of one full-batch gradient, so float32
# losses may differ in the last bits; 1e-4 nats is far below a training step's change (~0.1).
LOSS_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    return run_job("mirrored_job.py", tmp_path_factory.mktemp("mirrored"))


def test_mirrored_follows_one_device(job):
    assert job["replicas"] == [1, 2]
    assert len(job["single_losses"]) == len(job["mirrored_losses"]) == 2
    assert job["single_losses"] == pytest.approx(job["mirrored_losses"], abs=LOSS_TOLERANCE)
    assert job["single_losses"][-1] < job["single_losses"][0]  # it really trains


def test_checkpoint_from_two_replicas_resumes_on_one(job):
    assert job["checkpoint_step"] == 4
    assert job["same_after_restore"]
    assert job["same_optimizer_state"]  # Adam moments and step counter restored too
    assert job["resumed_loss"] < job["mirrored_losses"][0]  # training goes on from the trained weights


def test_pipeline_stages_on_two_devices_match_unsplit_gradients(job):
    assert [d.split("device:")[-1] for d in job["stage_output_devices"]] == ["CPU:0", "CPU:1"]
    assert job["pipeline_loss"] == pytest.approx(job["reference_loss"], abs=1e-5)
    assert job["pipeline_grad_diff"] < 1e-5


def test_tpu_local_without_a_tpu_fails_fast_with_instructions(job):
    assert job["tpu_error"] is not None and "no TPU found at 'local'" in job["tpu_error"]
    assert "Cloud TPU VM" in job["tpu_error"]
    assert job["tpu_seconds"] < 20
