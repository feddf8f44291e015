"""TensorBoard logs of a run folder, all on one global-step axis: scalars, text samples, images, hyperparameters.

A run owns one `RunSummaries`, writing to <run>/tensorboard/train and <run>/tensorboard/validation
(TensorBoard draws the two as one chart per metric). `StepScalars` is the callback that counts the
training steps of every fit() in the run (a second stage or a resumed run continues the count) and
writes the training logs every `every` steps and the epoch logs, validation included, at the step
the epoch ends on. Other callbacks write at the same `summaries.step`: generated text samples,
GAN sample grids and attention pictures as images, a tuner's trials with the HParams plugin.

Why our own callback rather than keras.callbacks.TensorBoard: Keras' callback puts epoch summaries
on an epoch axis, and a recipe that validates every N steps (the LLM pretraining) calls each
interval an "epoch", so its x axis counted intervals, not steps.

Cost: summaries are buffered in memory and flushed when a fit() ends; logs are read every
`every` steps only, so a step that writes nothing does not wait for the device.

Example:
    >>> import tempfile
    >>> summaries = RunSummaries(tempfile.mkdtemp())
    >>> summaries.step = 10
    >>> summaries.scalars({"loss": 2.0, "val_loss": 2.5})
    >>> summaries.text("samples", "def f(): ...")
    >>> summaries.close()
"""

import os

import keras
import numpy as np

EVERY = 10  # training logs every 10 steps: a curve on short runs, a few KB on long ones
TRAIN, VALIDATION = "train", "validation"


class RunSummaries:
    """The TensorBoard writers of one run and its global step; every summary lands at `step` unless told."""

    def __init__(self, folder, every=EVERY):
        if int(every) < 1:
            raise ValueError(f"TensorBoard logging every {every!r} steps: give at least 1.")
        # folder None: count steps (plot.png's axis) but write nothing, as with --no-tensorboard.
        self.folder = None if folder is None else str(folder)
        self.every = int(every)
        self.step = 0  # training steps taken in this run (all fit() calls)
        self.epoch_steps = []  # the global step at the end of each epoch, for plot.png's x axis
        self._writers = {}

    def writer(self, name=TRAIN):
        """The summary writer of <run>/tensorboard/<name>, made on first use."""
        import tensorflow as tf

        if name not in self._writers:
            # A large queue and a long flush interval: nothing touches the disk until flush().
            self._writers[name] = tf.summary.create_file_writer(
                os.path.join(self.folder, name), max_queue=10_000, flush_millis=600_000
            )
        return self._writers[name]

    def _at(self, step):
        return self.step if step is None else int(step)

    def scalars(self, logs, step=None):
        """Write Keras logs: `val_x` goes to the validation writer as `x`, the rest to train; non-numbers skipped."""
        import tensorflow as tf

        if self.folder is None:
            return
        step = self._at(step)
        for key, value in (logs or {}).items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            name, split = (key[4:], VALIDATION) if key.startswith("val_") else (key, TRAIN)
            with self.writer(split).as_default():
                tf.summary.scalar(name, value, step=step)

    def text(self, tag, text, step=None):
        """A text summary (shown in TensorBoard's Text tab as Markdown)."""
        import tensorflow as tf

        if self.folder is None:
            return
        with self.writer(TRAIN).as_default():
            tf.summary.text(tag, str(text), step=self._at(step))

    def image(self, tag, image, step=None):
        """An image summary from a PNG file or an HxW[xC] array (uint8, or float in [0, 1])."""
        import tensorflow as tf

        if self.folder is None:
            return
        if isinstance(image, (str, os.PathLike)):
            with open(image, "rb") as f:
                image = tf.io.decode_png(f.read(), channels=4)
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        if image.dtype != np.uint8:
            image = (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
        with self.writer(TRAIN).as_default():
            tf.summary.image(tag, image[None], step=self._at(step))

    def hparams(self, values, metrics, name, step=None):
        """One HParams-plugin session: a trial's hyperparameters and its metrics, in <run>/tensorboard/<name>."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp

        if self.folder is None:
            return
        with self.writer(name).as_default():
            hp.hparams({k: _hparam_value(v) for k, v in values.items()}, trial_id=name)
            for key, value in metrics.items():
                tf.summary.scalar(key, float(value), step=self._at(step))

    def flush(self):
        for writer in self._writers.values():
            writer.flush()

    def close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _hparam_value(value):
    # The plugin takes bool, int, float or str.
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


class StepScalars(keras.callbacks.Callback):
    """Count training steps into `summaries.step`; log training scalars every N steps and each epoch's logs.

    Example:
        >>> import tempfile
        >>> StepScalars(RunSummaries(tempfile.mkdtemp(), every=5)).summaries.every
        5
    """

    def __init__(self, summaries):
        super().__init__()
        self.summaries = summaries

    def on_train_begin(self, logs=None):
        # A resumed run's restored optimizer knows the steps taken before this process started.
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        try:
            done = int(keras.ops.convert_to_numpy(iterations)) if iterations is not None else 0
        except (TypeError, ValueError):
            done = 0
        self.summaries.step = max(self.summaries.step, done)

    def on_train_batch_end(self, batch, logs=None):
        summaries = self.summaries
        summaries.step += 1
        if summaries.step % summaries.every == 0 and logs:
            summaries.scalars(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.summaries.scalars(logs)
        self.summaries.epoch_steps.append(self.summaries.step)

    def on_train_end(self, logs=None):
        self.summaries.flush()
