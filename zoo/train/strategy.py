"""Pick a tf.distribute strategy by name, so every recipe scales out with one option.

`--strategy` chooses where `fit()` runs:

- `default`      TensorFlow's default strategy: one device, no replication.
- `one_device`   everything pinned to the first GPU (or the CPU).
- `mirrored`     data parallel over the local GPUs (or over `--cpu-devices` logical CPUs).
- `multi_worker` data parallel over several machines; each reads its role from TF_CONFIG.
- `tpu`          a Cloud TPU: TPUClusterResolver, connect, initialize_tpu_system, TPUStrategy.
- `auto`         TPU when one is attached, mirrored when more than one GPU is visible, else default.

Data parallelism keeps one copy of the model per replica; each replica gets
`batch_size / replicas` examples of the global batch and the gradients are
summed across replicas before one update, so the update is that of the global
batch. Models, optimizers and metrics must be created inside `strategy.scope()`
for their variables to be mirrored; `distributed` (a decorator for a recipe's
`train(args)`) does that, checks that the global batch splits evenly, and gives
non-chief workers a private scratch folder, so that only the chief writes the run
folder and its checkpoints. Checkpoints are plain Keras weight files and load
under any strategy (train on 2 replicas, resume on 1).

Example:
    >>> import argparse
    >>> parser = add_strategy_args(argparse.ArgumentParser())
    >>> args = parser.parse_args(["--strategy", "default"])
    >>> strategy_from_args(args).num_replicas_in_sync
    1
"""

import argparse
import functools
import glob
import json
import os
import socket
import tempfile
import threading

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")
# How long the TPU path may take to resolve and reach a TPU before it gives up (seconds).
TPU_TIMEOUT = 30.0
EXAMPLE_WORKERS = ("host1:12345", "host2:12345")

# A strategy is made once per process: MultiWorkerMirroredStrategy and the TPU system
# can be set up only once, and a recipe calling another recipe must reuse the same one.
_made = {}


class StrategyError(ValueError):
    """A strategy that cannot be made here, with what to do instead."""


def add_strategy_args(parser):
    """Add --strategy and its options (--cpu-devices, --tpu, --workers, --worker-index) to a parser.

    Example:
        >>> args = add_strategy_args(argparse.ArgumentParser()).parse_args([])
        >>> args.strategy
        'auto'
    """
    group = parser.add_argument_group("distribution")
    group.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy: auto picks tpu, then mirrored (>1 GPU), then default (default: auto)",
    )
    group.add_argument(
        "--cpu-devices",
        "--cpu-replicas",
        dest="cpu_replicas",
        type=int,
        default=None,
        metavar="N",
        help="split the CPU into N logical devices, so --strategy mirrored can be tried without GPUs",
    )
    group.add_argument(
        "--tpu",
        default=None,
        help="TPU name or grpc:// address for --strategy tpu (default: $TPU_NAME, else 'local' as on a Cloud TPU VM)",
    )
    group.add_argument(
        "--workers",
        default=None,
        help="for multi_worker without TF_CONFIG: comma-separated host:port of every worker, "
        "same order on each machine (with --worker-index)",
    )
    group.add_argument(
        "--worker-index", type=int, default=None, help="this machine's position in --workers (0 is the chief)"
    )
    return parser


def tf_config_for(workers, index):
    """The TF_CONFIG JSON for worker `index` of a cluster of `workers` (host:port strings).

    Example:
        >>> tf_config_for(["a:1000", "b:1000"], 1)
        '{"cluster": {"worker": ["a:1000", "b:1000"]}, "task": {"type": "worker", "index": 1}}'
    """
    workers = [w.strip() for w in workers if w.strip()]
    for worker in workers:
        host, _, port = worker.rpartition(":")
        if not host or not port.isdigit():
            raise StrategyError(f"A worker must be host:port, got {worker!r} (e.g. {EXAMPLE_WORKERS[0]}).")
    if not workers:
        raise StrategyError(
            f"--workers lists no worker; give host:port of every machine, e.g. --workers {','.join(EXAMPLE_WORKERS)}."
        )
    if not 0 <= index < len(workers):
        raise StrategyError(f"--worker-index must be in 0..{len(workers) - 1} for {len(workers)} workers, got {index}.")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": int(index)}})


def tf_config_lines(workers):
    """One `export TF_CONFIG=...` line per machine of a cluster, to paste on each host."""
    return [
        f"on {worker.rpartition(':')[0]}: export TF_CONFIG='{tf_config_for(workers, i)}'"
        for i, worker in enumerate(workers)
    ]


def read_tf_config(environ=None):
    """The parsed TF_CONFIG of this process, checked; a StrategyError says what is missing.

    Example:
        >>> read_tf_config({})
        Traceback (most recent call last):
        ...
        zoo.train.strategy.StrategyError: --strategy multi_worker needs TF_CONFIG ...
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "").strip()
    example = "\n".join("  " + line for line in tf_config_lines(list(EXAMPLE_WORKERS)))
    if not raw:
        raise StrategyError(
            "--strategy multi_worker needs TF_CONFIG (the cluster and this machine's role) in the environment, "
            f"or --workers host:port,... --worker-index i. For two machines:\n{example}\n"
            "Start the same command on every machine; see docs/distributed.md."
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as err:
        raise StrategyError(f"TF_CONFIG is not valid JSON ({err}): {raw[:200]!r}. Example:\n{example}") from None
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster.get("worker") and not cluster.get("chief"):
        raise StrategyError(f"TF_CONFIG has no cluster with a 'worker' list: {raw[:200]!r}. Example:\n{example}")
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(task.get("index"), int):
        raise StrategyError(
            f"TF_CONFIG's task must name a job of the cluster and an integer index, got {task!r}. Example:\n{example}"
        )
    if not 0 <= task["index"] < len(cluster[task["type"]]):
        raise StrategyError(
            f"TF_CONFIG's task index {task['index']} is outside the {len(cluster[task['type']])} "
            f"{task['type']} addresses."
        )
    return config


def split_cpu(replicas):
    """Make `replicas` logical CPU devices; only possible before TensorFlow has started its devices.

    Example (in a fresh process):
        >>> split_cpu(2)   # doctest: +SKIP
        >>> # then tf.config.list_logical_devices("CPU") lists CPU:0 and CPU:1
    """
    import tensorflow as tf

    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise StrategyError(f"--cpu-devices must be a positive integer, got {replicas!r}.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:
        raise StrategyError(
            f"--cpu-devices {replicas}: TensorFlow has already started its devices in this process, so the CPU "
            "can no longer be split. Make the strategy first thing in a fresh process."
        ) from None


def _with_timeout(fn, seconds, what):
    """Run fn() in a daemon thread; a StrategyError if it takes longer than `seconds` (the thread is left)."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as err:  # handed to the caller below
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise StrategyError(
            f"{what} took more than {seconds:.0f} s; no TPU answered. "
            "Check the TPU name, its zone and the network, or use another --strategy."
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def _reachable(address, seconds):
    """True when a TCP connection to grpc://host:port opens within `seconds`."""
    host, _, port = address.replace("grpc://", "").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=seconds):
            return True
    except (OSError, ValueError):
        return False


def tpu_strategy(tpu=None, timeout=TPU_TIMEOUT):
    """Resolve, connect to and initialize a TPU, and return a TPUStrategy over its cores.

    `tpu` is a TPU name, a grpc:// address or "local" (a Cloud TPU VM; the default
    unless $TPU_NAME is set). Fails within about `timeout` seconds with a StrategyError
    when no TPU can be reached, instead of waiting on the network forever.

    Example:
        >>> tpu_strategy("local")   # on a machine without a TPU
        Traceback (most recent call last):
        ...
        zoo.train.strategy.StrategyError: --strategy tpu: no TPU found at 'local' ...
    """
    import tensorflow as tf

    tpu = tpu or os.environ.get("TPU_NAME") or "local"
    help_text = (
        "On a Cloud TPU VM run with --tpu local (the default); from another VM give the TPU's name "
        "(--tpu my-tpu, same zone and project) or its grpc://IP:8470 address. Without a TPU use "
        "--strategy auto, default or mirrored. See docs/distributed.md."
    )
    try:
        resolver = _with_timeout(
            lambda: tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu), timeout, f"Resolving TPU {tpu!r}"
        )
        master = resolver.master()
    except StrategyError as err:
        raise StrategyError(f"--strategy tpu: {err} {help_text}") from None
    except Exception as err:  # the resolver raises ValueError, URLError, HTTP errors, ... for an unknown TPU
        raise StrategyError(
            f"--strategy tpu: cannot resolve TPU {tpu!r} ({type(err).__name__}: {err}). {help_text}"
        ) from None
    # Connecting to an address nobody answers blocks forever inside TensorFlow: probe it first.
    if master.startswith("grpc://") and not _reachable(master, min(timeout, 10.0)):
        raise StrategyError(f"--strategy tpu: nothing answers at {master} (TPU {tpu!r}). {help_text}")
    try:
        tf.config.experimental_connect_to_cluster(resolver)
        _with_timeout(lambda: tf.tpu.experimental.initialize_tpu_system(resolver), timeout, f"Initializing TPU {tpu!r}")
    except StrategyError as err:
        raise StrategyError(f"--strategy tpu: {err} {help_text}") from None
    except Exception as err:  # NotFoundError "TPUs not found in the cluster" on a machine without one
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StrategyError(f"--strategy tpu: no TPU found at {tpu!r} ({first_line}). {help_text}") from None
    return tf.distribute.TPUStrategy(resolver)


def tpu_attached():
    """A cheap guess whether this machine has a TPU: $TPU_NAME or Cloud TPU VM device files."""
    return bool(os.environ.get("TPU_NAME") or glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def _let_keras_fit_dict_inputs_on_multi_worker():
    """Work around two Keras 3.15 bugs that stop fit() under MultiWorkerMirroredStrategy.

    Before the first step Keras builds the model from one batch, which it gets by
    `strategy.reduce("MEAN", batch)` over the whole (nested) batch; the multi-worker
    strategy reduces only single tensors, so a dict of token ids and padding masks
    fails with "Attempt to convert a value ({'token_ids': PerReplica...". The build
    needs only shapes and dtypes, so this takes this worker's own copy of the batch.
    Patched once, only when a multi-worker strategy is made.
    """
    import tensorflow as tf

    try:
        from keras.src import tree
        from keras.src.backend.tensorflow import trainer as trainer_module
        from keras.src.backend.tensorflow.trainer import TensorFlowTrainer
    except ImportError:  # another Keras layout: nothing to patch
        return
    original = TensorFlowTrainer._maybe_symbolic_build
    if getattr(original, "_zoo_patched", False):
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return original(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            batch = next(it)
            data_batch = tree.map_structure(
                lambda v: (
                    strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v
                ),
                batch,
            )
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    _maybe_symbolic_build._zoo_patched = True
    TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build

    # After each step Keras averages the logged metrics over replicas with
    # `strategy.reduce("MEAN", v, axis=0)`, which fails for the scalar metrics on the
    # multi-worker strategy ("Invalid reduction dimension 0"). Average scalars over
    # replicas only (axis=None); every other case goes to Keras unchanged.
    reduce_original = trainer_module.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):

            def mean(v):
                if not isinstance(v, tf.distribute.DistributedValues):
                    return v
                rank = strategy.experimental_local_results(v)[0].shape.rank
                return strategy.reduce("MEAN", v, axis=None if rank == 0 else 0)

            return tree.map_structure(mean, values)
        return reduce_original(values, strategy, reduction)

    trainer_module.reduce_per_replica = reduce_per_replica


def make_strategy(name="auto", cpu_replicas=None, tpu=None, log=print):
    """The tf.distribute strategy called `name` (one of STRATEGIES), made once per process.

    Example:
        >>> make_strategy("default").num_replicas_in_sync
        1
        >>> make_strategy("ring")
        Traceback (most recent call last):
        ...
        zoo.train.strategy.StrategyError: Unknown strategy 'ring'; choose one of auto, default, one_device, mirrored, multi_worker, tpu.
    """
    if name not in STRATEGIES:
        raise StrategyError(f"Unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    key = (name, cpu_replicas, tpu)
    if key in _made:
        return _made[key]
    if cpu_replicas is not None:
        if name in ("tpu", "multi_worker"):
            raise StrategyError(f"--cpu-devices splits the local CPU for mirrored; it does not apply to {name}.")
        split_cpu(cpu_replicas)
    import tensorflow as tf

    chosen = name
    if name == "auto":
        chosen = "default"
        if tpu is not None or tpu_attached():
            try:
                strategy = tpu_strategy(tpu)
                log(f"strategy auto: TPU with {strategy.num_replicas_in_sync} cores")
                _made[key] = strategy
                return strategy
            except StrategyError as err:
                log(f"strategy auto: no usable TPU ({str(err).splitlines()[0][:160]}); trying GPUs")
        if len(tf.config.list_physical_devices("GPU")) > 1 or (cpu_replicas or 1) > 1:
            chosen = "mirrored"
    if chosen == "default":
        strategy = tf.distribute.get_strategy()
    elif chosen == "one_device":
        strategy = tf.distribute.OneDeviceStrategy("/gpu:0" if tf.config.list_physical_devices("GPU") else "/cpu:0")
    elif chosen == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        # MirroredStrategy() alone takes only CPU:0 when there is no GPU; name the logical CPUs.
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
    elif chosen == "multi_worker":
        config = read_tf_config()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _let_keras_fit_dict_inputs_on_multi_worker()
        task = config["task"]
        workers = config["cluster"].get("worker", [])
        log(
            f"strategy multi_worker: this is {task['type']} {task['index']} of {len(workers)} workers "
            f"({'chief' if is_chief(strategy) else 'not the chief'}); TF_CONFIG on each machine:"
        )
        if "chief" not in config["cluster"]:
            for line in tf_config_lines(workers):
                log("  " + line)
    else:
        strategy = tpu_strategy(tpu)
    if name == "auto":
        log(
            f"strategy auto: {chosen} ({strategy.num_replicas_in_sync} replica"
            f"{'s' if strategy.num_replicas_in_sync > 1 else ''})"
        )
    _made[key] = strategy
    return strategy


def strategy_from_args(args, log=print):
    """The strategy named by a recipe's parsed arguments (see `add_strategy_args`).

    `--workers` with `--worker-index` set TF_CONFIG for this process, so a cluster can
    be started without exporting it by hand.
    """
    name = getattr(args, "strategy", "default")
    workers, index = getattr(args, "workers", None), getattr(args, "worker_index", None)
    if (workers is None) != (index is None):
        raise StrategyError(
            "--workers and --worker-index go together: every machine gets the same --workers "
            "list and its own --worker-index (0 is the chief)."
        )
    if workers is not None:
        if name != "multi_worker":
            raise StrategyError(f"--workers is for --strategy multi_worker, not {name}.")
        os.environ["TF_CONFIG"] = tf_config_for(workers.split(","), index)
    return make_strategy(name, getattr(args, "cpu_replicas", None), getattr(args, "tpu", None), log=log)


def is_chief(strategy):
    """True on the worker that writes files: the only one outside multi-worker training, else the chief.

    Example:
        >>> import tensorflow as tf
        >>> is_chief(tf.distribute.get_strategy())
        True
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    spec = resolver.cluster_spec().as_dict()
    if "chief" in spec:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and int(resolver.task_id or 0) == 0


def worker_id(strategy):
    """This worker's task index (0 outside multi-worker training)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(getattr(resolver, "task_id", 0) or 0) if resolver is not None else 0


def for_this_worker(args, strategy, log=print):
    """`args` for this worker: non-chief workers write their run folder to a private scratch folder.

    Every worker must run the same callbacks (saving reads mirrored variables), but only the
    chief's files are kept; the others' go to a temporary folder nobody reads.
    """
    if is_chief(strategy) or not hasattr(args, "runs_dir"):
        return args
    scratch = tempfile.mkdtemp(prefix=f"zoo-worker{worker_id(strategy)}-")
    log(f"worker {worker_id(strategy)} is not the chief: its run folder and checkpoints go to {scratch}")
    return argparse.Namespace(**{**vars(args), "runs_dir": scratch})


def distributed(train):
    """Decorator for a recipe's `train(args, ...)`: make the strategy, check the batch, run inside its scope.

    Example:
        >>> @distributed
        ... def train(args):
        ...     import tensorflow as tf
        ...     return tf.distribute.get_strategy().num_replicas_in_sync
        >>> train(argparse.Namespace(strategy="default", batch_size=8))
        1
    """

    @functools.wraps(train)
    def wrapper(args, *rest, **kwargs):
        import tensorflow as tf

        from zoo.train.accumulation import check_global_batch

        if tf.distribute.has_strategy():  # called from another recipe inside its scope (run -> pretrain_clm)
            return train(args, *rest, **kwargs)
        try:
            strategy = strategy_from_args(args)
            batch_size = getattr(args, "batch_size", None)
            if batch_size is not None:
                check_global_batch(batch_size, strategy.num_replicas_in_sync)
        except ValueError as err:
            raise SystemExit(str(err)) from None
        if strategy.num_replicas_in_sync > 1 and batch_size is not None:
            print(
                f"global batch {batch_size} = {strategy.num_replicas_in_sync} replicas x "
                f"{batch_size // strategy.num_replicas_in_sync}"
            )
        with strategy.scope():
            return train(for_this_worker(args, strategy), *rest, **kwargs)

    return wrapper
