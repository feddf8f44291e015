"""MultiWorkerMirroredStrategy with 2 local worker processes: identical final weights, chief-only checkpoint."""

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.parallel.helpers import HERE, ROOT, free_ports, job_env, last_json

pytestmark = pytest.mark.recipe  # end-to-end recipe runs: `make test-fast` skips them

TIMEOUT = 240


def test_two_workers_end_identical_and_only_the_chief_writes(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    procs, logs = [], []
    try:
        for index in range(2):
            env = job_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
            log = open(tmp_path / f"worker{index}.log", "w+")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(HERE / "multi_worker_job.py"),
                        str(tmp_path / f"runs{index}"),
                        str(tmp_path / f"weights{index}.npz"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=str(ROOT),
                )
            )
        deadline = time.monotonic() + TIMEOUT
        for proc in procs:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for proc in procs:  # a worker whose peer died waits forever: never leave one behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    codes = [proc.returncode for proc in procs]
    assert codes == [0, 0], "workers failed or timed out (exit codes %s):\n%s" % (
        codes,
        "\n".join(f"--- worker {i} ---\n{out[-4000:]}" for i, out in enumerate(outputs)),
    )
    results = [last_json(out) for out in outputs]
    assert [r["chief"] for r in results] == [True, False]
    assert all(r["replicas"] == 2 for r in results)
    assert results[0]["loss"] == results[1]["loss"]

    # Identical weights on both workers: the all-reduced gradients keep the replicas in lockstep.
    a, b = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert len(a.files) == len(b.files) > 0
    assert all(np.array_equal(a[k], b[k]) for k in a.files)

    # Only the chief writes into the runs folder it was given; worker 1 wrote to a scratch folder.
    assert (tmp_path / "runs0" / "checkpoints" / "state.json").is_file()
    assert not (tmp_path / "runs1").exists()
    assert results[1]["runs_dir"] != str(tmp_path / "runs1")
    shutil.rmtree(results[1]["runs_dir"], ignore_errors=True)
