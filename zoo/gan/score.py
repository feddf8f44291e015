"""Score a digit generator with a trained digit classifier.

Two numbers, in the spirit of the Inception Score: the share of generated images the
classifier labels with confidence > 0.9 (are they digits at all?), and how evenly
those confident images spread over the 10 classes (normalised entropy: 1.0 = all
classes equally often, 0.0 = one class only -- mode collapse).

Example:
    >>> from zoo import build_cnn, build_gan
    >>> score = gan_score(build_gan(seed=0).generator, build_cnn(), n=16)   # trained: confident_share ~0.8
    >>> len(score["class_counts"]), 0.0 <= score["confident_share"] <= 1.0
    (10, True)
"""

import numpy as np


def class_evenness(counts):
    """Normalised entropy of a histogram: 1.0 when uniform, 0.0 when one class has everything."""
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum()
    if total == 0 or len(counts) < 2:
        return 0.0
    p = counts[counts > 0] / total
    return float(abs(-(p * np.log(p)).sum() / np.log(len(counts))))  # abs: no "-0.0"


def gan_score(generator, classifier, n=1000, confidence=0.9, latent_dim=None, seed=0, value_range=(-1.0, 1.0)):
    """Generate `n` images and score them with `classifier` (which takes images in [0, 1]).

    Returns a dict with confident_share, class_evenness (over confident images),
    class_counts (confident images per class) and mean_confidence.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}.")
    latent_dim = latent_dim or generator.input_shape[-1]
    noise = np.random.default_rng(seed).normal(size=(n, latent_dim)).astype("float32")
    images = np.asarray(generator.predict(noise, batch_size=256, verbose=0))
    low, high = value_range
    images = np.clip((images - low) / (high - low), 0.0, 1.0)  # the classifier was trained on [0, 1]
    probabilities = np.asarray(classifier.predict(images, batch_size=256, verbose=0))
    top = probabilities.max(axis=-1)
    labels = probabilities.argmax(axis=-1)
    confident = top > confidence
    counts = np.bincount(labels[confident], minlength=probabilities.shape[-1])
    return {
        "confident_share": float(confident.mean()),
        "class_evenness": class_evenness(counts),
        "class_counts": counts.tolist(),
        "mean_confidence": float(top.mean()),
        "n": int(n),
    }
