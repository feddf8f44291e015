"""A callback that shows a GAN's progress while it trains.

Every epoch it saves a PNG grid of digits generated from the same fixed noise (so you
can watch them sharpen; given a run's summaries, also as a TensorBoard image at the
global step), and, given a classifier, adds the GAN score to the epoch's
logs (so it lands in history.csv and the plot).

Example:
    >>> import tempfile
    >>> from zoo import build_cnn, build_gan
    >>> gan, images = build_gan(seed=0), np.zeros((8, 28, 28, 1), "float32")
    >>> monitor = GANMonitor(tempfile.mkdtemp(), classifier=build_cnn(), num_images=4, score_samples=16)
    >>> history = gan.fit(images, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    >>> "confident_share" in history.history
    True
"""

import os

import keras
import numpy as np

from zoo.gan.score import gan_score


def save_image_grid(images, path, rows=None, value_range=(-1.0, 1.0), title=None):
    """Save a batch of HxWx1 images as one PNG grid (written to a temp file, then renamed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    low, high = value_range
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image in zip(axes.ravel(), images):
        ax.imshow((image[..., 0] - low) / (high - low), cmap="gray", vmin=0, vmax=1)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".tmp-{os.path.basename(path)}")
    fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path


class GANMonitor(keras.callbacks.Callback):
    """Save a sample grid each epoch and log the GAN score (confident_share, class_evenness)."""

    def __init__(self, folder, classifier=None, num_images=100, score_samples=500, seed=0, every=1, summaries=None):
        super().__init__()
        self.summaries = summaries  # a zoo.train.tensorboard.RunSummaries, or None
        self.folder = folder
        self.classifier = classifier
        self.score_samples = score_samples
        self.every = every
        self.seed = seed
        self.num_images = num_images
        self.noise = None
        os.makedirs(folder, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        generator = self.model.generator
        if self.noise is None:  # fixed noise: the same 100 points each epoch
            latent = generator.input_shape[-1]
            self.noise = np.random.default_rng(self.seed).normal(size=(self.num_images, latent)).astype("float32")
        images = generator.predict(self.noise, verbose=0)
        grid = save_image_grid(
            images, os.path.join(self.folder, f"epoch_{epoch + 1:03d}.png"), title=f"epoch {epoch + 1}"
        )
        if self.summaries is not None:
            self.summaries.image("samples", grid)
        if self.classifier is not None and logs is not None:
            score = gan_score(generator, self.classifier, n=self.score_samples, seed=self.seed + epoch + 1)
            logs["confident_share"] = score["confident_share"]
            logs["class_evenness"] = score["class_evenness"]
