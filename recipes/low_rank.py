"""Recipe: low-rank factorization of the CNN's Dense layer, accuracy and parameters against rank.

The tutorial CNN (trained here, or `--from` a trained CNN .keras) has one large
Dense layer (576 x 64). Its kernel is replaced by two truncated-SVD factors of
each rank in `--ranks`, and of the rank chosen by `--energy` (the smallest
that keeps that share of the squared singular values); each factored model is
scored on the test digits right after the cut and again after a short
fine-tune (`--fine-tune-epochs`). The energy-chosen model, fine-tuned, is saved
as model.keras (it loads with `keras.saving.load_model`: `LowRankDense` is a
registered layer).

Run:
    zoo compress low-rank                                 # or: python recipes/low_rank.py
    zoo compress low-rank --ranks 2 4 8 16 32 --energy 0.95 --fine-tune-epochs 3
"""

import sys

from zoo.errors import UsageError
from zoo.recipe import Recipe

EPOCHS = 10
RANKS = (2, 4, 8, 16, 32)


recipe = Recipe(
    "low-rank",
    "Factor the CNN's Dense layer by truncated SVD; sweep the rank.",
    examples=[
        "zoo compress low-rank --epochs 3",
        "zoo compress low-rank --from runs/train-cnn-<stamp>/model.keras --ranks 4 16 64",
    ],
    command="compress low-rank",
)


@recipe.options
def add_options(parser):
    parser.add_argument(
        "--from",
        "--model",
        dest="model",
        default=None,
        help="a trained CNN .keras (default: train the tutorial CNN first)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=EPOCHS,
        help=f"epochs to train the CNN when no --from is given (default: {EPOCHS})",
    )
    parser.add_argument("--ranks", type=int, nargs="+", default=list(RANKS), help="ranks to try (default: 2 4 8 16 32)")
    parser.add_argument(
        "--energy",
        type=float,
        default=0.9,
        help="share of sum(s^2) to keep when choosing the saved model's rank (default: 0.9)",
    )
    parser.add_argument("--layer", default="dense", help="the Dense layer to factor (default: dense, 576x64)")
    parser.add_argument(
        "--fine-tune-epochs", type=int, default=2, help="epochs of fine-tuning after the cut (default: 2)"
    )


def low_rank_cnn(args, log=print, callbacks=()):
    """Train (or load) the CNN, sweep ranks, and factor at the energy-chosen rank; results dict."""
    import keras
    import numpy as np

    from zoo.compress.low_rank import factorize_model, rank_sweep
    from zoo.data.digits import load_digits_28
    from zoo.vision.cnn import build_cnn

    if args.epochs < 1 or args.fine_tune_epochs < 0:
        raise UsageError("--epochs must be at least 1 and --fine-tune-epochs at least 0.")
    (x_train, y_train), (x_test, y_test) = load_digits_28(seed=args.seed)

    def accuracy(model):
        return float((np.argmax(model.predict(x_test, verbose=0), axis=-1) == y_test).mean())

    def fine_tune(model, callbacks=()):
        model.compile(
            optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        if args.fine_tune_epochs:
            return model.fit(
                x_train,
                y_train,
                epochs=args.fine_tune_epochs,
                batch_size=32,
                verbose=args.verbose,
                callbacks=list(callbacks),
            )
        return None

    if args.model:
        model = keras.saving.load_model(args.model)
    else:
        log(f"training the tutorial CNN for {args.epochs} epochs")
        model = build_cnn()
        model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=args.verbose)
    names = [layer.name for layer in model.layers]
    if args.layer not in names:
        raise UsageError(f"--layer {args.layer!r} is not in the model; its layers are: {', '.join(names)}.")
    try:
        sweep = rank_sweep(model, args.ranks, accuracy, fine_tune, layer_names=[args.layer])
        chosen, report = factorize_model(model, energy=args.energy, layer_names=[args.layer])
    except ValueError as err:
        raise UsageError(str(err)) from None
    info = report["layers"][args.layer]
    cut = accuracy(chosen)
    history = fine_tune(chosen, callbacks)
    return {
        "baseline_accuracy": accuracy(model),
        "baseline_params": int(model.count_params()),
        "layer": args.layer,
        "layer_shape": info["shape"],
        "sweep": sweep,
        "energy": args.energy,
        "energy_rank": info.get("rank"),
        "energy_kept": info.get("energy_kept"),
        "energy_factored": info["factored"],
        "energy_accuracy_cut": cut,
        "energy_accuracy": accuracy(chosen),
        "energy_params": int(chosen.count_params()),
        "model": chosen,
        "history": history,
    }


@recipe.body
def run_recipe(args, run):
    """Sweep and save; returns the results dict (also in <run>/results.json)."""
    import keras

    keras.utils.set_random_seed(args.seed)
    result = low_rank_cnn(args, callbacks=run.callbacks())
    model, history = result.pop("model"), result.pop("history")
    results = run.finish(model, history, result, plot_title="low-rank CNN: fine-tune after the cut")
    print(f"baseline: accuracy {result['baseline_accuracy']:.4f}, {result['baseline_params']:,} params")
    print(f"{'rank':>5} {'params':>8} {'after cut':>9} {'fine-tuned':>10}")
    for row in result["sweep"]:
        print(
            f"{row['rank']:5d} {row['params']:8,} {row['score']:9.4f} {row.get('score_fine_tuned', float('nan')):10.4f}"
        )
    print(
        f"energy {args.energy}: rank {result['energy_rank']} ({result['energy_kept']:.3f} kept), "
        f"accuracy {result['energy_accuracy']:.4f}, {result['energy_params']:,} params"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
