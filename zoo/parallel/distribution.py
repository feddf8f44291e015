"""The JAX route of every training recipe: --backend jax, --distribution, --mesh and several hosts.

`add_distribution_args` puts the options on a recipe's command line next to the
tf.distribute ones; `enter_distribution` is what the recipe runner does with them on the
JAX backend, before the recipe builds its model:

- (before it, and before the seed: the runner joins the other hosts with
  `zoo.parallel.hosts.initialize_hosts` when --coordinator or the environment says so;)
- make the keras.distribution of --distribution over a --mesh BATCHxMODEL of devices
  (`zoo.parallel.model_parallel.make_distribution`) and enter its scope, so that every model,
  optimizer variable and batch the recipe makes is laid out on the mesh;
- check that the global batch splits over the mesh's batch axis;
- send the files of processes other than 0 to a scratch folder.

The TensorFlow route (--strategy, tf.distribute) stays as it is; options of one route given
to the other are refused with the option to use instead.

Run:
    XLA_FLAGS=--xla_force_host_platform_device_count=4 is what --cpu-devices 4 sets:
    zoo pretrain-clm --backend jax --cpu-devices 4 --distribution data+model --mesh 2x2

Example:
    >>> parse_mesh("2x4")
    (2, 4)
"""

from zoo.errors import UsageError

DISTRIBUTIONS = ("data", "model", "data+model")


def add_distribution_args(group):
    """Add --backend, --distribution, --mesh and the several-hosts options to an argparse group."""
    from zoo.parallel.backend import BACKENDS

    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="Keras backend: tensorflow (tf.distribute, SavedModel export) or jax (keras.distribution, TPU VMs); "
        "default: $KERAS_BACKEND, else tensorflow",
    )
    group.add_argument(
        "--distribution",
        choices=DISTRIBUTIONS,
        default=None,
        help="JAX: keras.distribution data (DataParallel), model or data+model (ModelParallel over a mesh)",
    )
    group.add_argument(
        "--mesh",
        default=None,
        metavar="BxM",
        help="JAX: devices as BATCHxMODEL, e.g. 2x2 (default: all on the axis --distribution uses; data+model: Nx2)",
    )
    group.add_argument("--coordinator", default=None, help="JAX, several hosts: host:port of process 0 (or auto)")
    group.add_argument("--num-processes", type=int, default=None, help="JAX, several hosts: how many processes")
    group.add_argument("--process-id", type=int, default=None, help="JAX, several hosts: this process's id")
    return group


def parse_mesh(text):
    """ "2x2" -> (2, 2), with a clear error for anything else.

    Example:
        >>> parse_mesh("2*2")
        Traceback (most recent call last):
        ...
        zoo.errors.UsageError: --mesh must be BATCHxMODEL with positive integers, e.g. 2x2 or 1x4; got '2*2'.
    """
    parts = str(text).lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"--mesh must be BATCHxMODEL with positive integers, e.g. 2x2 or 1x4; got {text!r}.")
    return int(parts[0]), int(parts[1])


def refuse_on_tensorflow(args):
    """Raise UsageError when JAX-only options are given on the TensorFlow backend."""
    for name in ("distribution", "mesh", "coordinator", "num_processes", "process_id"):
        if getattr(args, name, None) is not None:
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} is keras.distribution and runs on the JAX backend: add --backend jax "
                "(or, on TensorFlow, use --strategy mirrored / multi_worker / tpu)."
            )


def enter_distribution(args, scopes, log=print):
    """On the JAX backend: enter the keras.distribution of `args`; `args` for this process.

    `scopes` is a contextlib.ExitStack the distribution scope is entered on. Several hosts must have
    joined already (`zoo.parallel.hosts.initialize_hosts`).
    """
    from zoo.parallel.hosts import for_this_process

    strategy = getattr(args, "strategy", "auto")
    if strategy not in ("auto", "default"):
        raise UsageError(
            f"--strategy {strategy} is tf.distribute and needs the TensorFlow backend; on JAX use "
            "--distribution data | model | data+model (with --mesh BxM), or drop --backend jax."
        )
    kind = getattr(args, "distribution", None)
    if kind is None:
        if getattr(args, "mesh", None) is not None:
            raise UsageError("--mesh goes with --distribution data, model or data+model.")
        return for_this_process(args, log=log)
    import keras

    from zoo.parallel.model_parallel import make_distribution, mesh_shape

    data, model = parse_mesh(args.mesh) if args.mesh else (None, None)
    devices = keras.distribution.list_devices()
    try:
        distribution = make_distribution(kind, None, data, model, devices=devices)
    except ValueError as err:
        raise UsageError(f"--distribution {kind}: {err}") from None
    data, model = mesh_shape(distribution)
    batch_size = getattr(args, "batch_size", None)
    if batch_size is not None and batch_size % data:
        raise UsageError(
            f"--batch-size {batch_size} does not split over the mesh's {data} batch shards; use a multiple of {data}."
        )
    log(
        f"keras.distribution {kind} on {len(devices)} {devices[0].split(':')[0]} devices: "
        f"mesh {data} (batch) x {model} (model)"
    )
    scopes.enter_context(distribution.scope())
    return for_this_process(args, log=log)


def describe_layout(model, log=print):
    """Print and return {path: axes} of the weights the active distribution shards (empty when none)."""
    import keras

    if keras.backend.backend() != "jax" or keras.distribution.distribution() is None:
        return {}
    from zoo.parallel.model_parallel import shard_shapes, weight_shardings

    sharded = {path: list(axes) for path, axes in weight_shardings(model).items() if any(axes)}
    if sharded:
        log(f"{len(sharded)} of {len(model.weights)} weights sharded over the model axis, e.g.")
        for path in list(sharded)[:4]:
            log(f"  {path}: axes {tuple(sharded[path])}, per-device piece {shard_shapes(model, path)[0]}")
    replicated = getattr(keras.distribution.distribution(), "replicated", ())
    if replicated:
        log(f"replicated because the model axis does not divide them: {', '.join(replicated[:6])}")
    return sharded
