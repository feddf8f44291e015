"""Recipe: train the causal LLM with pipeline parallelism (a GPipe schedule over device stages).

A teaching implementation (see zoo/parallel/pipeline_parallel.py): the model's
blocks are cut into --stages stages, each placed on its own device (GPUs, or
logical CPU devices made by splitting the CPU), and every optimizer step runs
--micro-batches micro-batches forward through the stages and back. Before
training, the recipe checks that the pipeline's gradients equal the unsplit
model's on one batch. During training it measures every stage's forward and
backward time and simulates the GPipe clock with them to report the bubble (the
idle share of the devices), next to the formula (p-1)/(m+p-1) for equal stages.
The stages run one after another in this process, so the bubble is simulated
from measured times, not timed overlap.

For real multi-device or multi-machine speed-ups use data parallelism
(--strategy mirrored / multi_worker / tpu on pretrain-clm) or model parallelism
(zoo model-parallel); see docs/distributed.md.

Run:
    zoo pipeline-parallel                      # or: python recipes/pipeline_parallel.py
    zoo pipeline-parallel --stages 2 --micro-batches 8 --steps 60
"""

import math
import sys
import time

from zoo.errors import UsageError
from zoo.options import fraction, sequence_length
from zoo.recipe import Recipe

recipe = Recipe(
    "pipeline-parallel",
    "Train the causal LLM with a GPipe pipeline schedule.",
    examples=[
        "zoo pipeline-parallel --steps 20",
        "zoo pipeline-parallel --stages 4 --micro-batches 8 --cpu-devices 4",
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
    parser.add_argument("--layers", type=int, default=4, help="transformer blocks, at least --stages (default: 4)")
    parser.add_argument("--stages", type=int, default=2, help="pipeline stages p (default: 2)")
    parser.add_argument("--micro-batches", type=int, default=4, help="micro-batches m per step (default: 4)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="sequences per optimizer step, split into --micro-batches (default: 16)",
    )
    parser.add_argument("--seq-len", type=sequence_length, default=32, help="tokens per sequence (default: 32)")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps (default: 40)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="AdamW learning rate (default: 3e-3)")
    parser.add_argument("--validation-fraction", type=fraction, default=0.1, help="held-out documents (default: 0.1)")
    parser.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="without GPUs, split the CPU into this many logical devices (default: --stages)",
    )


def check_args(args):
    for name in ("layers", "stages", "micro_batches", "batch_size", "seq_len", "steps"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if args.stages > args.layers:
        raise UsageError(f"--stages {args.stages} needs at least as many --layers (got {args.layers}).")
    if args.batch_size % args.micro_batches:
        raise UsageError(
            f"--batch-size {args.batch_size} does not split into {args.micro_batches} equal micro-batches; "
            f"use a multiple of {args.micro_batches}."
        )


def place_devices(args):
    """Device names for the stages: the GPUs, else logical CPUs (split now if TensorFlow has not started)."""
    import tensorflow as tf

    from zoo.train.strategy import StrategyError, split_cpu

    if not tf.config.list_physical_devices("GPU"):
        try:
            split_cpu(args.cpu_devices or args.stages)
        except StrategyError as err:
            print(f"note: {str(err).splitlines()[0]} Stages share the existing devices.")
    names = [d.name for d in tf.config.list_logical_devices("GPU")] or [
        d.name for d in tf.config.list_logical_devices("CPU")
    ]
    return names


@recipe.body
def train(args, run):
    """Train with the GPipe schedule; returns the results dict (also in <run>/results.json)."""
    import keras
    import numpy as np

    from zoo.data.corpus import clm_splits, ensure_corpus, training_windows
    from zoo.llm import build_llm
    from zoo.parallel.pipeline_parallel import GPipe, full_batch_gradients
    from zoo.pictures.pipeline import draw_gpipe_timeline
    from zoo.train.pretraining import TrainingOptions, model_config

    check_args(args)
    devices = place_devices(args)  # before any other TensorFlow work, so the CPU can still be split
    keras.utils.set_random_seed(args.seed)
    folder = ensure_corpus(args.data)
    train_ds, val_ds, tokenizer = clm_splits(folder, args.seq_len, args.batch_size, args.validation_fraction, args.seed)
    train_x, train_y = training_windows(train_ds)
    val_x, val_y = training_windows(val_ds)
    # Dropout off: the gradient check compares two runs, which must draw the same (no) masks.
    sizes = TrainingOptions(preset=args.preset, seq_len=args.seq_len, dropout=0.0)
    config = model_config(sizes, tokenizer.vocabulary_size()).replace(num_layers=args.layers)
    model = build_llm("causal", config=config, compile=False)
    pipeline = GPipe(model, num_stages=args.stages, micro_batches=args.micro_batches, devices=devices)
    print(
        f"{args.stages} stages on {', '.join(pipeline.devices)}; blocks per stage {pipeline.stage_blocks}; "
        f"{args.micro_batches} micro-batches of {args.batch_size // args.micro_batches} sequences"
    )

    def batch(step):
        rows = np.arange(step * args.batch_size, (step + 1) * args.batch_size) % len(train_x)
        x = {"token_ids": train_x[rows], "padding_mask": np.ones_like(train_x[rows])}
        return x, train_y[rows]

    # The pipeline must compute exactly the unsplit model's gradients (checked on the first batch).
    x0, y0 = batch(0)
    _, grads, _ = pipeline.gradients(x0, y0)
    _, reference = full_batch_gradients(model, x0, y0)
    by_id = {id(v): g for v, g in zip(model.trainable_variables, reference)}
    grad_diff = max(
        float(np.max(np.abs(np.asarray(g) - np.asarray(by_id[id(v)])))) for g, v in zip(grads, pipeline.variables)
    )
    print(f"pipeline gradients vs unsplit model: max |difference| {grad_diff:.2e}")

    optimizer = keras.optimizers.AdamW(args.learning_rate, weight_decay=0.01)
    history, bubbles = {"loss": []}, []
    summaries = run.summaries
    started = time.perf_counter()
    for step in range(args.steps):
        loss, timings = pipeline.train_step(*batch(step), optimizer)
        history["loss"].append(loss)
        summaries.step = step + 1  # a hand-written loop: one optimizer step per batch
        if summaries.step % summaries.every == 0 or step + 1 == args.steps:
            summaries.scalars({"loss": loss})
        if step > 0:  # the first step includes tracing and warm-up
            bubbles.append(pipeline.bubble(timings)["bubble"])
        if args.verbose and (step + 1) % max(1, args.steps // 10) == 0:
            print(f"step {step + 1}/{args.steps}: loss {loss:.4f}")
    seconds = time.perf_counter() - started

    model.compile(loss="auto", metrics=[])
    val_loss = float(
        model.evaluate(
            {"token_ids": val_x, "padding_mask": np.ones_like(val_x)}, val_y, batch_size=args.batch_size, verbose=0
        )
    )
    run.note(llm_config=config.get_config())
    # The last step's measured stage times on the GPipe clock: the timeline and its bubble.
    draw_gpipe_timeline(run.file("pipeline.png"), args.stages, args.micro_batches, durations=timings)
    summaries.image("pictures/pipeline", run.file("pipeline.png"))
    summaries.epoch_steps[:] = range(1, args.steps + 1)  # history.csv has one row per step: plot.png by step
    simulated = float(np.mean(bubbles)) if bubbles else pipeline.bubble(timings)["bubble"]
    results = run.finish(
        model,
        history,
        {
            "stages": args.stages,
            "micro_batches": args.micro_batches,
            "devices": pipeline.devices,
            "blocks_per_stage": pipeline.stage_blocks,
            "gradient_max_difference_vs_unsplit": grad_diff,
            "bubble_simulated_from_measured_stage_times": simulated,
            "bubble_formula": (args.stages - 1) / (args.micro_batches + args.stages - 1),
            "first_loss": history["loss"][0],
            "final_loss": history["loss"][-1],
            "val_loss": val_loss,
            "val_perplexity": float(math.exp(min(val_loss, 50.0))),
            "train_seconds": seconds,
            "tokens_per_second_sequential": args.steps * args.batch_size * args.seq_len / seconds,
        },
        plot_title=f"pipeline parallel ({args.stages} stages, {args.micro_batches} micro-batches)",
    )
    print(
        f"loss {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f}, validation {val_loss:.3f}; "
        f"bubble {simulated:.3f} (simulated from measured stage times) vs (p-1)/(m+p-1) = "
        f"{results['bubble_formula']:.3f}"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
