"""What TensorBoard logging costs a training run: fit() time with the run folder's logs on and off.

Prints one JSON object. The workload is the tutorial's CNN on the digits (the train-cnn recipe's
model and data), `--epochs` epochs at batch 32 (41 steps an epoch), fitted with the callbacks
of a zoo.recipe run folder: history.csv only (--no-tensorboard) or history.csv plus TensorBoard
scalars every 10 steps and at each epoch end (the default). The two alternate for `--repeats`
rounds, each from the same initial weights, so a shared machine's load falls on both; the ratio
of the medians is the cost. On a busy machine that ratio is mostly noise, so the time spent
inside the logging itself (making the writers, writing, flushing) is also measured directly.

Example:
    $ python benchmarks/tensorboard_cost.py --epochs 3 --repeats 5
"""

import argparse
import json
import statistics
import tempfile
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import keras

    from zoo import build_cnn
    from zoo.data.digits import load_digits_28
    from zoo.recipe import Run
    from zoo.train.tensorboard import RunSummaries

    inside = {"seconds": 0.0}

    def timed(method):
        def wrapper(*a, **k):
            started = time.perf_counter()
            try:
                return method(*a, **k)
            finally:
                inside["seconds"] += time.perf_counter() - started

        return wrapper

    for name in ("writer", "scalars", "flush", "close"):
        setattr(RunSummaries, name, timed(getattr(RunSummaries, name)))

    (x, y), _ = load_digits_28(seed=0)
    keras.utils.set_random_seed(0)
    model = build_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    initial = model.get_weights()
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)  # tracing, outside the timings
    seconds = {"on": [], "off": []}
    logging = []
    with tempfile.TemporaryDirectory() as root:
        for _ in range(args.repeats):
            for mode in ("off", "on"):
                model.set_weights(initial)
                run = Run("bench", {}, root, tensorboard=mode == "on")
                inside["seconds"] = 0.0
                started = time.perf_counter()
                model.fit(x, y, batch_size=32, epochs=args.epochs, verbose=0, callbacks=run.callbacks())
                run.summaries.close()
                seconds[mode].append(time.perf_counter() - started)
                if mode == "on":
                    logging.append(inside["seconds"])
    median = {mode: statistics.median(values) for mode, values in seconds.items()}
    print(
        json.dumps(
            {
                "workload": f"train-cnn model, {len(x)} digits, batch 32, {args.epochs} epochs",
                "steps": args.epochs * -(-len(x) // 32),
                "seconds": seconds,
                "median_seconds": median,
                "on_over_off": median["on"] / median["off"],
                "logging_seconds_per_run": logging,
                "logging_share_of_fit": statistics.median(logging) / median["on"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
