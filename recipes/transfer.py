"""Recipe: transfer learning, the tutorial's way (frozen base + new head), then fine-tuning.

Two paths:

* `--model small` (default): zoo trains the tutorial's CNN on digits 0-4, then moves
  its convolutional base to digits 5-9: stage 1 trains only a new head on the frozen
  base; stage 2 unfreezes the top convolution at a low learning rate. A model of the
  same shape trained from scratch with the same budget is the baseline.
* `--model vgg16`: the tutorial's VGG16 transfer model end to end on a small resized
  RGB subset of the digits. `--weights imagenet` uses the Keras cache (never
  downloads); the default `--weights none` runs offline with an untrained base, which
  checks the mechanics (shapes, freezing, fine-tuning) rather than accuracy.

Run:
    zoo transfer                                  # or: python recipes/transfer.py
    zoo transfer --model vgg16 --image-size 224 --subset 200
    zoo transfer --model vgg16 --weights imagenet # needs ~/.keras/models/vgg16_..._notop.h5
"""

import sys

from zoo.errors import UsageError
from zoo.recipe import Recipe

SOURCE_DIGITS = (0, 1, 2, 3, 4)
TARGET_DIGITS = (5, 6, 7, 8, 9)


recipe = Recipe(
    "transfer",
    "Transfer learning: frozen base, new head, fine-tune.",
    examples=[
        "zoo transfer --epochs 3",
        "zoo transfer --model vgg16 --weights /path/to/vgg16_notop.h5",
    ],
)


@recipe.options
def add_options(parser):
    parser.add_argument(
        "--model",
        choices=("small", "vgg16"),
        default="small",
        help="small: zoo's CNN from digits 0-4 to 5-9; vgg16: the tutorial's VGG16 model (default: small)",
    )
    parser.add_argument("--source-epochs", type=int, default=15, help="epochs on digits 0-4 (small model)")
    parser.add_argument(
        "--epochs", type=int, default=15, help="stage 1 epochs: new head on the frozen base (default: 15)"
    )
    parser.add_argument(
        "--finetune-epochs", type=int, default=5, help="stage 2 epochs: top block unfrozen (default: 5)"
    )
    parser.add_argument("--finetune-lr", type=float, default=1e-4, help="stage 2 learning rate (default: 1e-4)")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size (default: 16)")
    parser.add_argument(
        "--target-per-class",
        type=int,
        default=10,
        help="training images per target class; transfer shines with few (default: 10)",
    )
    parser.add_argument(
        "--weights",
        default="none",
        help="vgg16 only: 'imagenet' (Keras cache), 'none', or a path to no-top weights (default: none)",
    )
    parser.add_argument("--image-size", type=int, default=64, help="vgg16 only: image side, >= 32 (default: 64)")
    parser.add_argument("--subset", type=int, default=300, help="vgg16 only: images used in all (default: 300)")


def take_per_class(x, y, per_class, seed):
    """The first `per_class` images of each class after a seeded shuffle (a small labelled set)."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(y))
    keep = np.concatenate([order[y[order] == c][:per_class] for c in np.unique(y)])
    return x[np.sort(keep)], y[np.sort(keep)]


def two_stage_fit(model, x, y, x_test, y_test, args, run, prefix, base_name=None):
    """Stage 1: the new head on the frozen base. Stage 2: the base's top block unfrozen at a low LR.

    Returns (merged history, results) with test accuracy after each stage.
    """
    from zoo.runs import merge_histories
    from zoo.vision.vgg16_transfer import unfreeze_top_block

    base = model.get_layer(base_name) if base_name else model.layers[0]
    before = [w.copy() for w in base.get_weights()]
    stage1 = model.fit(
        x, y, epochs=args.epochs, batch_size=args.batch_size, callbacks=run.callbacks(), verbose=args.verbose
    )
    frozen_accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    base_unchanged = all((a == b).all() for a, b in zip(before, base.get_weights()))
    unfrozen = unfreeze_top_block(model, base_name=base_name, prefix=prefix, learning_rate=args.finetune_lr)
    print(
        f"stage 1 (frozen base) test accuracy: {frozen_accuracy:.4f}; "
        f"stage 2 unfreezes {', '.join(unfrozen)} at learning rate {args.finetune_lr}"
    )
    stage2 = model.fit(
        x, y, epochs=args.finetune_epochs, batch_size=args.batch_size, callbacks=run.callbacks(), verbose=args.verbose
    )
    return merge_histories(stage1, stage2), {
        "frozen_test_accuracy": frozen_accuracy,
        "finetuned_test_accuracy": float(model.evaluate(x_test, y_test, verbose=0)[1]),
        "base_frozen_in_stage1": bool(base_unchanged),
        "unfrozen_layers": unfrozen,
    }


def run_small(args, run):
    import keras

    from zoo import build_cnn, build_transfer_model, load_digits_28
    from zoo.vision.augment import image_dataset

    (xs, ys), (xs_test, ys_test) = load_digits_28(digits=SOURCE_DIGITS, seed=args.seed)
    (xt, yt), (xt_test, yt_test) = load_digits_28(digits=TARGET_DIGITS, seed=args.seed)
    yt, yt_test = yt - 5, yt_test - 5  # digits 5-9 become classes 0-4
    xt, yt = take_per_class(xt, yt, args.target_per_class, args.seed)
    print(f"source: {len(xs)} images of digits 0-4; target: {len(xt)} training images of digits 5-9")

    source = build_cnn(num_classes=len(SOURCE_DIGITS), name="source_cnn")
    # Augmented source training learns features that hold up on new digits, not just on 0-4.
    source.fit(
        image_dataset(xs, ys, 32, seed=args.seed), epochs=args.source_epochs, verbose=args.verbose, shuffle=False
    )
    source_accuracy = float(source.evaluate(xs_test, ys_test, verbose=0)[1])
    print(f"source model (digits 0-4) test accuracy: {source_accuracy:.4f}")

    model = build_transfer_model(source, num_classes=len(TARGET_DIGITS))
    history, staged = two_stage_fit(model, xt, yt, xt_test, yt_test, args, run, prefix="conv3", base_name="base")

    # Baseline: the same architecture from scratch, same data, same number of epochs.
    keras.utils.set_random_seed(args.seed)
    scratch = build_cnn(num_classes=len(TARGET_DIGITS), name="scratch_cnn")
    scratch.fit(xt, yt, epochs=args.epochs + args.finetune_epochs, batch_size=args.batch_size, verbose=0)
    return (
        model,
        history,
        {
            "source_test_accuracy": source_accuracy,
            "target_train_images": int(len(xt)),
            **staged,
            "scratch_test_accuracy": float(scratch.evaluate(xt_test, yt_test, verbose=0)[1]),
        },
    )


def run_vgg16(args, run):
    import keras

    from zoo import build_vgg16_transfer, load_digits_28

    weights = None if args.weights.lower() == "none" else args.weights
    # Build first: a missing weights file fails now, before any data work.
    model = build_vgg16_transfer(num_classes=10, weights=weights, input_shape=(args.image_size, args.image_size, 3))
    share = min(0.5, max(0.1, 1 - args.subset / 1797))
    (x, y), (x_test, y_test) = load_digits_28(size=args.image_size, channels=3, seed=args.seed, test_size=share)
    n_train = int(args.subset * 0.8)
    x, y = x[:n_train], y[:n_train]
    x_test, y_test = x_test[: args.subset - n_train], y_test[: args.subset - n_train]
    # VGG16 was trained on mean-subtracted 0-255 BGR images; feed it the same.
    x = keras.applications.vgg16.preprocess_input(x * 255.0)
    x_test = keras.applications.vgg16.preprocess_input(x_test * 255.0)
    print(
        f"VGG16 transfer on {len(x)} train / {len(x_test)} test digits at {args.image_size}x{args.image_size}x3, "
        f"weights={weights}"
    )
    history, staged = two_stage_fit(model, x, y, x_test, y_test, args, run, prefix="block5")
    return (
        model,
        history,
        {
            "weights": str(weights),
            "image_size": args.image_size,
            "train_images": int(len(x)),
            **staged,
            "params": int(model.count_params()),
        },
    )


@recipe.body
def train(args, run):
    import keras

    for name in ("source_epochs", "epochs", "finetune_epochs", "batch_size", "target_per_class", "subset"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1.")
    if args.image_size < 32:
        raise UsageError("--image-size must be at least 32 (VGG16 pools the image five times).")
    keras.utils.set_random_seed(args.seed)
    run.name = f"transfer-{args.model}"
    model, history, results = (run_small if args.model == "small" else run_vgg16)(args, run)
    results = run.finish(
        model, history, {"model": args.model, **results}, plot_title=f"transfer ({args.model}): frozen, then fine-tuned"
    )
    for key, value in results.items():
        if key.endswith("accuracy"):
            print(f"{key}: {value:.4f}")
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
