"""Recipe: train the causal LLM with its weights sharded over a device mesh (keras.distribution, JAX).

The devices form a --mesh DATAxMODEL grid: along "model" the attention and
feed-forward matrices are cut in pieces (tensor parallelism, see
zoo/parallel/model_parallel.py), along "batch" each row of devices gets its
share of the batch. `--distribution data` replicates the model instead
(keras.distribution.DataParallel). keras.distribution needs the JAX backend:
when Keras is not already on JAX, this recipe restarts itself with
KERAS_BACKEND=jax and, on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count
set to --devices, so four virtual devices let you try a 2x2 mesh anywhere.
On a GPU or TPU host the real devices are used.

Every preset works, learned positions included (`--preset gpt2_small`). Every
training recipe does the same on the corpus pipeline with
`--backend jax --distribution data+model --mesh 2x2` (docs/distributed.md); this
recipe is the short version on in-memory windows.

Run:
    zoo model-parallel                        # or: python recipes/model_parallel.py
    zoo model-parallel --mesh 1x4 --steps 100
    zoo model-parallel --distribution data
"""

import math
import os
import subprocess
import sys
import time

from zoo.errors import UsageError
from zoo.options import fraction, sequence_length
from zoo.recipe import Recipe

recipe = Recipe(
    "model-parallel",
    "Train the causal LLM sharded over a device mesh (keras.distribution on JAX).",
    examples=[
        "zoo model-parallel --steps 20",
        "zoo model-parallel --mesh 1x4 --cpu-devices 4",
    ],
    training=False,
)


@recipe.options
def add_options(parser):
    from zoo.data.corpus import DEFAULT_DATA

    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"corpus folder from `zoo data prepare` (default: {DEFAULT_DATA}, prepared on first use)",
    )
    parser.add_argument("--preset", default="tiny", help="model preset (default: tiny)")
    parser.add_argument(
        "--distribution",
        choices=("model", "data"),
        default="model",
        help="model: ModelParallel with the LayoutMap; data: DataParallel (default: model)",
    )
    parser.add_argument("--mesh", default="2x2", help="DATAxMODEL devices for --distribution model (default: 2x2)")
    parser.add_argument(
        "--cpu-devices",
        "--devices",
        dest="devices",
        type=int,
        default=4,
        help="virtual CPU devices when no GPU/TPU is present (default: 4)",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="global batch (default: 16)")
    parser.add_argument("--seq-len", type=sequence_length, default=32, help="tokens per sequence (default: 32)")
    parser.add_argument("--steps", type=int, default=60, help="training steps (default: 60)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="AdamW learning rate (default: 3e-3)")
    parser.add_argument("--validation-fraction", type=fraction, default=0.1, help="held-out documents (default: 0.1)")


def parse_mesh(text):
    """ "2x2" -> (2, 2), with a clear error for anything else."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"--mesh must be DATAxMODEL with positive integers, e.g. 2x2 or 1x4; got {text!r}.")
    return int(parts[0]), int(parts[1])


def on_jax():
    """True when this process runs Keras on JAX (or will, once Keras is imported)."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend() == "jax"
    return os.environ.get("KERAS_BACKEND") == "jax"


def relaunch_on_jax(argv, devices):
    """Run this recipe again in a fresh process with KERAS_BACKEND=jax; returns its exit code."""
    env = dict(os.environ, KERAS_BACKEND="jax")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    flag = f"--xla_force_host_platform_device_count={devices}"
    if "xla_force_host_platform_device_count" not in env.get("XLA_FLAGS", ""):
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + flag).strip()
    print(f"restarting with KERAS_BACKEND=jax XLA_FLAGS={env['XLA_FLAGS']} (keras.distribution needs JAX)")
    return subprocess.call([sys.executable, os.path.abspath(__file__), *argv], env=env)


@recipe.body
def train(args, run):
    """Train on the mesh; returns the results dict (also in <run>/results.json). Needs Keras on JAX."""
    import keras
    import numpy as np

    from zoo.data.corpus import clm_splits, ensure_corpus, training_windows
    from zoo.parallel.model_parallel import (
        build_distributed_llm,
        make_distribution,
        require_jax,
        shard_shapes,
        weight_shardings,
    )
    from zoo.train.pretraining import TrainingOptions, model_config
    from zoo.train.tensorboard import StepScalars

    require_jax()
    for name in ("batch_size", "seq_len", "steps"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    data_parallel, model_parallel = parse_mesh(args.mesh)
    keras.utils.set_random_seed(args.seed)
    folder = ensure_corpus(args.data)
    train_ds, val_ds, tokenizer = clm_splits(folder, args.seq_len, args.batch_size, args.validation_fraction, args.seed)
    sizes = TrainingOptions(preset=args.preset, seq_len=args.seq_len, dropout=None)
    config = model_config(sizes, tokenizer.vocabulary_size())
    devices = keras.distribution.list_devices()
    try:
        if args.distribution == "model":
            distribution = make_distribution("model", config, data_parallel, model_parallel, devices=devices)
        else:
            distribution = make_distribution("data", config, devices=devices)
        batch_shards = data_parallel if args.distribution == "model" else len(devices)
        if args.batch_size % batch_shards:
            raise ValueError(
                f"--batch-size {args.batch_size} does not split over the {batch_shards} batch shards; "
                f"use a multiple of {batch_shards}."
            )
    except ValueError as err:
        raise UsageError(str(err)) from None
    train_x, train_y = training_windows(train_ds)
    val_x, val_y = training_windows(val_ds)
    rows = np.arange(args.steps * args.batch_size) % len(train_x)
    model = build_distributed_llm(config, distribution)
    layout = weight_shardings(model)
    print(
        f"{args.distribution} parallel over {len(devices)} {devices[0].split(':')[0]} devices"
        + (f", mesh {data_parallel} (batch) x {model_parallel} (model)" if args.distribution == "model" else "")
    )
    for path, axes in layout.items():
        if any(axes):
            print(f"  {path}: axes {axes}, per-device piece {shard_shapes(model, path)[0]}")
    run.note(llm_config=config.get_config())  # before the TensorBoard writer opens the run folder
    with distribution.scope():
        # zoo's AdamW default (zoo.train.optimizer.build_optimizer): no decay on biases, norms, embeddings.
        model.compile(learning_rate=args.learning_rate, weight_decay=0.01, loss="auto", metrics=[])
        started = time.perf_counter()
        history = model.fit(
            {"token_ids": train_x[rows], "padding_mask": np.ones_like(train_x[rows])},
            train_y[rows],
            batch_size=args.batch_size,
            epochs=1,
            shuffle=False,
            verbose=args.verbose,
            callbacks=[StepScalars(run.summaries)],  # TensorBoard scalars on the global-step axis
        )
        seconds = time.perf_counter() - started
        usable = len(val_x) // args.batch_size * args.batch_size
        val_loss = float(
            model.evaluate(
                {"token_ids": val_x[:usable], "padding_mask": np.ones_like(val_x[:usable])},
                val_y[:usable],
                batch_size=args.batch_size,
                verbose=0,
            )
        )
    results = run.finish(
        model,
        history,
        {
            "distribution": args.distribution,
            "devices": len(devices),
            "mesh": [data_parallel, model_parallel] if args.distribution == "model" else [len(devices), 1],
            "sharded_weights": {p: list(a) for p, a in layout.items() if any(a)},
            "train_loss": float(history.history["loss"][-1]),
            "val_loss": val_loss,
            "val_perplexity": float(math.exp(min(val_loss, 50.0))),
            "train_seconds": seconds,
            "tokens_per_second": args.steps * args.batch_size * args.seq_len / seconds,
            "params": int(model.count_params()),
        },
        plot_title=f"{args.distribution} parallel on {len(devices)} devices",
    )
    print(
        f"train loss {results['train_loss']:.3f}, validation {val_loss:.3f} "
        f"({results['tokens_per_second']:.0f} tokens/s incl. compilation)"
    )
    return results


def main(argv=None, prog=None):
    """Run on JAX: in this process when Keras already runs on JAX, else in a fresh one started on JAX."""
    from zoo.recipe import usage_exit

    argv = list(sys.argv[1:] if argv is None else argv)
    args = recipe.build_parser(prog).parse_args(argv)
    try:
        parse_mesh(args.mesh)  # a malformed mesh fails before the restart
    except UsageError as err:
        raise usage_exit(prog or f"zoo {recipe.command}", err) from None
    if not on_jax():
        return relaunch_on_jax(argv, args.devices)
    return recipe.main(argv, prog)


if __name__ == "__main__":
    sys.exit(main())
