"""Recipe: train the tutorial's CNN on scikit-learn's digits, resized to 28x28x1.

The tutorial's CNN expects MNIST-shaped images. scikit-learn ships 1,797 8x8 digits,
so this recipe runs offline: it resizes them to 28x28, holds out a stratified 20%
test split, trains with adam and categorical crossentropy (one-hot labels) as
printed, with small random shifts/rotations/zooms of the training images, and
reports test accuracy.

Run:
    zoo train-cnn                     # or: python recipes/train_cnn.py
    zoo train-cnn --epochs 5 --no-augment
"""

import argparse
import sys

from zoo.options import positive_int
from zoo.recipe import Recipe

EPOCHS = 30
BATCH_SIZE = 32

recipe = Recipe(
    "train-cnn",
    "Train the tutorial's CNN on digits (28x28x1).",
    examples=[
        "zoo train-cnn --epochs 5",
        "zoo train-cnn --epochs 5 --no-augment --labels sparse",
        "zoo train-cnn --strategy mirrored --cpu-devices 2",
    ],
)


@recipe.options
def add_options(parser):
    parser.add_argument("--epochs", type=positive_int, default=EPOCHS, help=f"training epochs (default: {EPOCHS})")
    parser.add_argument(
        "--batch-size", type=positive_int, default=BATCH_SIZE, help=f"batch size (default: {BATCH_SIZE})"
    )
    parser.add_argument(
        "--labels",
        choices=("sparse", "one-hot"),
        default="one-hot",
        help="feed integer labels, or one-hot labels as the tutorial does (default: one-hot)",
    )
    parser.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="random small shifts/rotations/zooms of the training images (default: on)",
    )


@recipe.body
def train(args, run):
    """Train and evaluate; returns the results dict (also written to the run folder)."""
    import keras
    import numpy as np

    from zoo.vision.digit_classifier import train_digit_classifier

    model, history, (x_test, y_test) = train_digit_classifier(
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        augment=args.augment,
        one_hot=args.labels == "one-hot",
        callbacks=run.callbacks(),
        verbose=args.verbose,
    )
    y_eval = keras.utils.to_categorical(y_test, 10) if args.labels == "one-hot" else y_test
    test_loss, test_accuracy = model.evaluate(x_test, y_eval, verbose=0)
    predicted = np.argmax(model.predict(x_test, verbose=0), axis=-1)
    results = run.finish(
        model,
        history,
        {
            "test_accuracy": float(test_accuracy),
            "test_loss": float(test_loss),
            "test_errors": int((predicted != y_test).sum()),
            "test_images": int(len(y_test)),
            "params": int(model.count_params()),
        },
        plot_title="CNN on digits (28x28)",
    )
    print(f"test accuracy: {test_accuracy:.4f} ({results['test_errors']} errors in {len(y_test)} images)")
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
