"""Run parallel-training jobs in fresh Python processes, with timeouts and readable failures."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def job_env(**extra):
    """The environment for a job: the repository on PYTHONPATH, quiet TensorFlow, no inherited TF_CONFIG."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "XLA_FLAGS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.update(extra)
    return env


def last_json(text):
    """The last line of `text` that parses as a JSON object."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def run_job(script, *args, timeout=240, **env):
    """Run tests/parallel/<script> in a fresh interpreter; its JSON result, or an AssertionError with its output."""
    proc = subprocess.run(
        [sys.executable, str(HERE / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=job_env(**env),
        cwd=str(ROOT),
    )
    result = last_json(proc.stdout)
    assert proc.returncode == 0 and result is not None, (
        f"{script} failed (exit {proc.returncode}):\n--- stdout ---\n{proc.stdout[-3000:]}\n"
        f"--- stderr ---\n{proc.stderr[-5000:]}"
    )
    return result


def free_ports(count):
    """`count` TCP ports on 127.0.0.1 that nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()
