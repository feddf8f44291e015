"""Benchmark: training throughput of the causal LLM as data parallelism scales out.

Measures tokens/s of `fit()` on the same model and global batch with
- one device vs Mirrored over 2 logical CPU devices (one process),
- MultiWorkerMirrored with 1 worker vs 2 local worker processes (127.0.0.1),
- one CPU vs one GPU, when TensorFlow sees a GPU (reported absent otherwise);
- the JAX route: TensorFlow vs JAX tokens/s at the same shape on this CPU, and on 4
  virtual CPU devices the step time of the model unsharded vs sharded on a 2 (batch) x
  2 (model) keras.distribution mesh. The virtual devices are a simulation on one CPU:
  they share its cores, so the sharded/unsharded ratio is the cost of GSPMD's
  collectives and smaller matmuls, not a speed-up a real mesh would show. These three
  run as long-lived processes that time one round each in turn (interleaved rounds,
  median), so load from other programs hits all of them alike.
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
    python benchmarks/scaling.py --jax-only # only the TensorFlow-vs-JAX and mesh part
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


def llm_config(config):
    from zoo.llm import LLMConfig

    return LLMConfig(
        vocab_size=512,
        max_length=config["seq_len"],
        num_layers=config["layers"],
        hidden_dim=config["hidden_dim"],
        num_heads=4,
        intermediate_dim=4 * config["hidden_dim"],
    )


def round_server(config, kind):
    """A long-lived child for the JAX comparison: builds its model(s), then times one round per "round" line.

    kind "tf" / "jax": one model on one device of that backend. kind "mesh" (JAX, 4 virtual devices): the
    model unsharded and on a 2x2 data+model mesh, timed in alternating order within each round.
    """
    import keras
    import numpy as np

    llm = llm_config(config)
    batch, seq, steps = config["batch_size"], config["seq_len"], config["steps"]
    ids = np.random.default_rng(0).integers(7, 512, (batch * steps, seq + 1)).astype("int32")
    x, y = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:]

    class Clock(keras.callbacks.Callback):
        """Starts after the first 2 steps, so fit()'s own set-up (data adapter, iterator) is not timed."""

        def on_train_batch_end(self, index, logs=None):
            if index == 1:
                self.start = time.perf_counter()

    def fit(model):
        # fit() over `steps` batches: both backends run their compiled step in a loop, as in training
        # (train_on_batch would add JAX's per-call copy of the state back into the Keras variables).
        clock = Clock()
        model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
        return time.perf_counter() - clock.start  # steps 3..N, up to the values being back in the variables

    def make(distribution=None):
        import contextlib

        from zoo.llm import build_llm

        keras.utils.set_random_seed(0)
        with distribution.scope() if distribution else contextlib.nullcontext():
            model = build_llm("causal", config=llm, compile=False)
            model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="auto", metrics=[])
            fit(model)  # compiles; the rounds time compiled steps
        return model, distribution

    def timed(model, distribution):
        import contextlib

        with distribution.scope() if distribution else contextlib.nullcontext():
            return fit(model)

    models = {kind: make()}
    if kind == "mesh":
        from zoo.parallel.model_parallel import make_distribution

        models = {"unsharded": models["mesh"], "sharded_2x2": make(make_distribution("data+model", llm, 2, 2))}
    print(json.dumps({"ready": list(models), "devices": len(keras.distribution.list_devices())}), flush=True)
    for index, line in enumerate(sys.stdin):
        if line.strip() != "round":
            break
        names = list(models) if index % 2 == 0 else list(models)[::-1]
        print(json.dumps({name: timed(*models[name]) for name in names}), flush=True)
    return 0


def jax_rounds(config, rounds, timeout):
    """Median seconds per round of the TF, JAX and JAX-mesh servers, timed in turn (interleaved)."""
    import statistics

    servers = {
        "tf": child_env(),
        "jax": child_env(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu"),
        "mesh": child_env(
            KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=4"
        ),
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", name, "--config", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for name, env in servers.items()
    }
    times = {}
    try:
        for name, proc in procs.items():
            if last_json(proc.stdout.readline() or "{}") is None:
                raise RuntimeError(f"the {name} server did not start")
        for index in range(rounds):
            order = list(procs) if index % 2 == 0 else list(procs)[::-1]
            for name in order:
                procs[name].stdin.write("round\n")
                procs[name].stdin.flush()
                reply = last_json(procs[name].stdout.readline() or "{}")
                if not reply:
                    raise RuntimeError(f"the {name} server stopped in round {index}")
                for key, seconds in reply.items():
                    times.setdefault(key, []).append(seconds)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return {key: statistics.median(values) for key, values in times.items()}


def jax_results(config, rounds, timeout):
    """The JSON fields of the JAX route: TF vs JAX tokens/s, unsharded vs sharded step time (simulated mesh)."""
    config = dict(config, steps=max(config["steps"], 20))  # a round of 20+ steps: fit()'s own cost is small
    median = jax_rounds(config, rounds, timeout)
    timed_steps = config["steps"] - 2  # the Clock starts after step 2
    tokens = timed_steps * config["batch_size"] * config["seq_len"]
    step_ms = {key: 1000 * seconds / timed_steps for key, seconds in median.items()}
    return {
        "jax_rounds": rounds,
        "jax_timed_steps_per_round": timed_steps,
        "tensorflow_tokens_per_second": round(tokens / median["tf"], 1),
        "jax_tokens_per_second": round(tokens / median["jax"], 1),
        "jax_vs_tensorflow_ratio": round(median["tf"] / median["jax"], 3),
        "virtual_mesh_unsharded_step_ms": round(step_ms["unsharded"], 2),
        "virtual_mesh_sharded_2x2_step_ms": round(step_ms["sharded_2x2"], 2),
        "virtual_mesh_sharded_vs_unsharded_time_ratio": round(median["sharded_2x2"] / median["unsharded"], 3),
        "virtual_mesh_note": (
            "simulation on one CPU: XLA_FLAGS=--xla_force_host_platform_device_count=4 makes 4 devices that "
            f"share the same {os.cpu_count()} cores; the ratio is the overhead of sharding (collectives, smaller "
            "matmuls), not the speed of a real 2x2 mesh"
        ),
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
    parser.add_argument(
        "--jax-only", action="store_true", help="only TensorFlow vs JAX and the sharded vs unsharded virtual mesh"
    )
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds of the JAX comparison")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--config", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cpu-replicas", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        return round_server(json.loads(args.config), args.serve)
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
    rounds = args.rounds or (5 if args.quick else 9)
    results = {"benchmark": "scaling", "model": config, "cpu_count": os.cpu_count()}
    if args.jax_only:
        results.update(jax_results(config, rounds, args.timeout))
        results["wall_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(results))
        return 0
    one = collect([launch(args, "cpu")], args.timeout)[0]
    mirrored = collect([launch(args, "mirrored", cpu_replicas=2)], args.timeout)[0]
    worker1 = multi_worker(args, 1)
    worker2 = multi_worker(args, 2)
    results.update(
        {
            "one_device_tokens_per_second": round(one["tokens_per_second"], 1),
            "mirrored_2_logical_cpus_tokens_per_second": round(mirrored["tokens_per_second"], 1),
            "mirrored_2_vs_1_ratio": round(mirrored["tokens_per_second"] / one["tokens_per_second"], 3),
            "multi_worker_1_tokens_per_second": round(worker1["tokens_per_second"], 1),
            "multi_worker_2_local_tokens_per_second": round(worker2["tokens_per_second"], 1),
            "multi_worker_2_vs_1_ratio": round(worker2["tokens_per_second"] / worker1["tokens_per_second"], 3),
        }
    )
    results.update(jax_results(config, rounds, args.timeout))
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
