"""Benchmark: training throughput of the causal LLM as data parallelism scales out.

Measures tokens/s of `fit()` on the same model and global batch with
- one device vs Mirrored over 2 logical CPU devices (one process),
- MultiWorkerMirrored with 1 worker vs 2 local worker processes (127.0.0.1),
- one CPU vs one GPU, when TensorFlow sees a GPU (reported absent otherwise).
Each configuration runs in a fresh process (the CPU split and the cluster must be
set before TensorFlow starts). Ratios are against the single-device run of the
same invocation. Replicas that share the same CPU cores cannot be faster than one
device: on a 2-core machine expect ratios at or below 1 (the communication is
pure overhead there); the point of the numbers is the overhead, and the same
commands scale on machines with several GPUs or hosts.

Prints one JSON object.

Run:
    python benchmarks/scaling.py            # about 2-4 minutes on 2 CPU cores
    python benchmarks/scaling.py --quick    # fewer steps, a smaller model
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(config, strategy_name, cpu_replicas, steps, warmup):
    """Run in a child process: tokens/s of `steps` timed fit steps after `warmup` untimed ones."""
    from zoo.train.strategy import make_strategy

    strategy = make_strategy(strategy_name, cpu_replicas=cpu_replicas, log=lambda *_: None)

    import keras
    import numpy as np

    from zoo.llm import LLMConfig, build_llm

    llm = LLMConfig(
        vocab_size=512,
        max_length=config["seq_len"],
        num_layers=config["layers"],
        hidden_dim=config["hidden_dim"],
        num_heads=4,
        intermediate_dim=4 * config["hidden_dim"],
    )
    batch, seq = config["batch_size"], config["seq_len"]
    total = steps + warmup
    ids = np.random.default_rng(0).integers(7, 512, (batch * total, seq + 1)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch_index, logs=None):
            if batch_index + 1 == warmup:
                self.start = time.perf_counter()
            if batch_index + 1 == total:
                self.seconds = time.perf_counter() - self.start

    clock = Clock()
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build_llm("causal", config=llm, compile=False)
        model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="auto", metrics=[])
        model.fit(x, ids[:, 1:], batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
    return {
        "tokens_per_second": steps * batch * seq / clock.seconds,
        "replicas": strategy.num_replicas_in_sync,
        "timed_steps": steps,
    }


def child_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG",)}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["KERAS_BACKEND"] = "tensorflow"
    env.update(extra)
    return env


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                pass
    return None


def launch(args, strategy_name, cpu_replicas=None, env=None):
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--child",
        strategy_name,
        "--config",
        json.dumps(vars(args)["config"]),
    ]
    if cpu_replicas:
        command += ["--cpu-replicas", str(cpu_replicas)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(**(env or {})), cwd=ROOT
    )


def collect(procs, timeout):
    """Wait for child processes; kill them all if one fails or the time is up. Returns their JSON results."""
    results, deadline = [], time.monotonic() + timeout
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            result = last_json(out)
            if proc.returncode != 0 or result is None:
                raise RuntimeError(f"a measurement failed (exit {proc.returncode}): {err.strip()[-1500:]}")
            results.append(result)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def multi_worker(args, workers):
    ports = free_ports(workers)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = [
        launch(
            args,
            "multi_worker",
            env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
        )
        for i in range(workers)
    ]
    return collect(procs, args.timeout)[0]  # the chief's clock covers the global batch


def gpu_visible():
    probe = subprocess.run(
        [sys.executable, "-c", "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=300,
    )
    try:
        return int(probe.stdout.strip().splitlines()[-1]) > 0
    except (ValueError, IndexError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Tokens/s of data-parallel training: 1 vs 2 replicas, "
        "1 vs 2 workers, CPU vs GPU. Prints one JSON object."
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps and a smaller model (about a minute or two)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per configuration")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per configuration")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--config", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cpu-replicas", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        config = json.loads(args.config)
        name = "one_device" if args.child == "gpu" else args.child
        if args.child == "cpu":
            os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # the CPU reference, even on a GPU host
            name = "one_device"
        print(json.dumps(measure(config, name, args.cpu_replicas, config["steps"], config["warmup"])))
        return 0

    steps = args.steps or (6 if args.quick else 20)
    config = {
        "layers": 1 if args.quick else 2,
        "hidden_dim": 32 if args.quick else 64,
        "seq_len": 32 if args.quick else 64,
        "batch_size": 16,
        "steps": steps,
        "warmup": 2,
    }
    args.config = config
    started = time.perf_counter()
    one = collect([launch(args, "cpu")], args.timeout)[0]
    mirrored = collect([launch(args, "mirrored", cpu_replicas=2)], args.timeout)[0]
    worker1 = multi_worker(args, 1)
    worker2 = multi_worker(args, 2)
    results = {
        "benchmark": "scaling",
        "model": config,
        "cpu_count": os.cpu_count(),
        "one_device_tokens_per_second": round(one["tokens_per_second"], 1),
        "mirrored_2_logical_cpus_tokens_per_second": round(mirrored["tokens_per_second"], 1),
        "mirrored_2_vs_1_ratio": round(mirrored["tokens_per_second"] / one["tokens_per_second"], 3),
        "multi_worker_1_tokens_per_second": round(worker1["tokens_per_second"], 1),
        "multi_worker_2_local_tokens_per_second": round(worker2["tokens_per_second"], 1),
        "multi_worker_2_vs_1_ratio": round(worker2["tokens_per_second"] / worker1["tokens_per_second"], 3),
    }
    if gpu_visible():
        gpu = collect([launch(args, "gpu")], args.timeout)[0]
        results["gpu_tokens_per_second"] = round(gpu["tokens_per_second"], 1)
        results["gpu_vs_cpu_ratio"] = round(gpu["tokens_per_second"] / one["tokens_per_second"], 3)
    else:
        results["gpu"] = "absent: TensorFlow sees no GPU on this machine"
    results["note"] = (
        f"replicas and local workers share the same {os.cpu_count()} CPU cores, so no real speed-up "
        "is expected here: a ratio near or above 1 means one process did not use every core by itself, "
        "below 1 is the cost of splitting the batch and all-reducing gradients; timings on a shared "
        "machine are noisy"
    )
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
