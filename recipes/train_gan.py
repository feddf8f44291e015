"""Recipe: train the tutorial's GAN on digits, the way it actually trains.

The tutorial's printed GAN code cannot train (see zoo/gan/gan.py for why); zoo's
`build_gan()` keeps its generator and discriminator layer for layer and adds the
missing piece, a `train_step` that alternates discriminator and generator updates.

Each epoch saves a grid of digits generated from fixed noise (samples/epoch_NNN.png)
and scores the generator with a CNN trained on the real digits: the share of
generated images it classifies with confidence > 0.9 and how evenly they spread over
the 10 classes.

The default generator is convolutional (DCGAN). The tutorial's own MLP generator
(`--generator mlp`) trains with the same, correct train_step, but on these 1,797 digits it
collapses onto one digit (see README: results); the discriminator is the tutorial's either way.

Run:
    zoo train-gan                          # or: python recipes/train_gan.py
    zoo train-gan --generator mlp          # the tutorial's generator, layer for layer
    zoo train-gan --classifier runs/train-cnn-.../model.keras   # reuse a trained CNN as the judge
"""

import sys

from zoo.errors import UsageError
from zoo.recipe import Recipe

EPOCHS = 25
BATCH_SIZE = 64
CLASSIFIER_EPOCHS = 15


recipe = Recipe(
    "train-gan",
    "Train the tutorial's GAN on digits (28x28x1).",
    examples=[
        "zoo train-gan --epochs 5",
        "zoo train-gan --epochs 20 --score-samples 500",
    ],
)


@recipe.options
def add_options(parser):
    parser.add_argument(
        "--generator",
        choices=("mlp", "dcgan"),
        default="dcgan",
        help="dcgan: a convolutional generator; mlp: the tutorial's, which tends to collapse "
        "onto one digit on this small set (default: dcgan)",
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default: {EPOCHS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"batch size (default: {BATCH_SIZE})")
    parser.add_argument(
        "--label-smoothing",
        type=float,
        default=0.1,
        help="one-sided smoothing of real labels for the discriminator (default: 0.1)",
    )
    parser.add_argument(
        "--instance-noise",
        type=float,
        default=0.0,
        help="std of Gaussian noise added to the discriminator's inputs (default: 0)",
    )
    parser.add_argument(
        "--generator-steps", type=int, default=1, help="generator updates per discriminator update (default: 1)"
    )
    parser.add_argument(
        "--generator-loss",
        choices=("standard", "feature_matching"),
        default="standard",
        help="standard: fool the discriminator; feature_matching: match its features (default: standard)",
    )
    parser.add_argument(
        "--classifier",
        help="a trained digit classifier (.keras) to score with; "
        f"default: train the tutorial's CNN for {CLASSIFIER_EPOCHS} epochs first",
    )
    parser.add_argument(
        "--classifier-epochs",
        type=int,
        default=CLASSIFIER_EPOCHS,
        help=f"epochs for the judge CNN when --classifier is not given (default: {CLASSIFIER_EPOCHS})",
    )
    parser.add_argument("--score-samples", type=int, default=1000, help="images generated for the final score")


@recipe.body
def train(args, run):
    import os

    import keras

    from zoo import build_gan, load_digits_28
    from zoo.gan.monitor import GANMonitor
    from zoo.gan.score import gan_score
    from zoo.vision.digit_classifier import train_digit_classifier

    if min(args.epochs, args.batch_size, args.score_samples, args.classifier_epochs) < 1:
        raise UsageError("--epochs, --batch-size, --classifier-epochs and --score-samples must be at least 1.")
    if args.classifier:
        if not os.path.isfile(args.classifier):
            raise UsageError(f"--classifier {args.classifier!r} is not a file; give a .keras digit classifier.")
        classifier = keras.models.load_model(args.classifier)
        classifier_accuracy = None
    else:
        print(f"training the judge: the tutorial's CNN on real digits ({args.classifier_epochs} epochs) ...")
        classifier, _, (x_test, y_test) = train_digit_classifier(epochs=args.classifier_epochs, seed=args.seed)
        classifier_accuracy = float(classifier.evaluate(x_test, y_test, verbose=0)[1])
        print(f"judge test accuracy: {classifier_accuracy:.4f}")

    keras.utils.set_random_seed(args.seed)
    # All 1,797 digits, scaled to [-1, 1] to match the generator's tanh output.
    (x_train, _), (x_test, _) = load_digits_28(value_range=(-1.0, 1.0), seed=args.seed)
    import numpy as np

    images = np.concatenate([x_train, x_test])
    gan = build_gan(
        generator=args.generator,
        label_smoothing=args.label_smoothing,
        instance_noise=args.instance_noise,
        generator_steps=args.generator_steps,
        generator_loss=args.generator_loss,
        seed=args.seed,
    )
    # The baseline a trained generator must beat: the same generator before training.
    untrained = gan_score(gan.generator, classifier, n=args.score_samples, seed=args.seed + 12345)
    monitor = GANMonitor(run.file("samples"), classifier=classifier, seed=args.seed, summaries=run.summaries)
    # The monitor runs before the CSV logger, so its score lands in history.csv.
    history = gan.fit(
        images,
        batch_size=args.batch_size,
        epochs=args.epochs,
        callbacks=[monitor] + run.callbacks(),
        verbose=args.verbose,
    )
    score = gan_score(gan.generator, classifier, n=args.score_samples, seed=args.seed + 12345)
    results = run.finish(
        gan,
        history,
        {
            "generator": args.generator,
            "judge_test_accuracy": classifier_accuracy,
            **score,
            "untrained_confident_share": untrained["confident_share"],
            "untrained_class_evenness": untrained["class_evenness"],
            "generator_params": int(gan.generator.count_params()),
            "discriminator_params": int(gan.discriminator.count_params()),
        },
        plot_title=f"GAN ({args.generator} generator) on digits",
    )
    print(
        f"GAN score: {score['confident_share']:.1%} of {score['n']} generated digits classified with confidence "
        f"> 0.9; class evenness {score['class_evenness']:.3f} (1.0 = all ten digits equally often); "
        f"per class {score['class_counts']} (untrained generator: {untrained['confident_share']:.1%}, "
        f"evenness {untrained['class_evenness']:.3f})"
    )
    print(f"samples: {run.file('samples')}/")
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
