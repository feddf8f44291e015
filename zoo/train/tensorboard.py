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

Cost: summaries are protocol buffers made in Python (no TensorFlow op per value) and written
by tensorboard's event file writer on a background thread, flushed when a fit() ends; logs
are read every `every` steps only, so a step that writes nothing does not wait for the device.
No TensorFlow is needed, so the logs work on the JAX backend too.

Example:
    >>> import tempfile
    >>> summaries = RunSummaries(tempfile.mkdtemp())
    >>> summaries.step = 10
    >>> summaries.scalars({"loss": 2.0, "val_loss": 2.5})
    >>> summaries.text("samples", "def f(): ...")
    >>> summaries.close()
"""

import os
import struct
import time

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
        """The event file writer of <run>/tensorboard/<name>, made on first use."""
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        if name not in self._writers:
            # A background thread writes the events; a long queue and flush interval keep the disk quiet.
            self._writers[name] = EventFileWriter(os.path.join(self.folder, name), max_queue_size=1000, flush_secs=600)
        return self._writers[name]

    def _write(self, summary, step, name=TRAIN):
        from tensorboard.compat.proto import event_pb2

        step = self.step if step is None else int(step)
        self.writer(name).add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def scalars(self, logs, step=None):
        """Write Keras logs: `val_x` goes to the validation writer as `x`, the rest to train; non-numbers skipped."""
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb

        if self.folder is None:
            return
        for key, value in (logs or {}).items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            name, split = (key[4:], VALIDATION) if key.startswith("val_") else (key, TRAIN)
            self._write(scalar_pb(name, value), step, split)

    def text(self, tag, text, step=None):
        """A text summary (shown in TensorBoard's Text tab as Markdown)."""
        from tensorboard.plugins.text.summary_v2 import text_pb

        if self.folder is None:
            return
        self._write(text_pb(tag, str(text)), step)

    def image(self, tag, png, step=None):
        """An image summary of a PNG file (its bytes go in as they are)."""
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.image.metadata import create_summary_metadata
        from tensorboard.util.tensor_util import make_tensor_proto

        if self.folder is None:
            return
        with open(png, "rb") as f:
            data = f.read()
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError(f"{png} is not a PNG file.")
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
        # The image plugin's layout: width, height, then the encoded images.
        tensor = make_tensor_proto([str(width).encode(), str(height).encode(), data], dtype=np.object_)
        summary = summary_pb2.Summary()
        summary.value.add(tag=tag, metadata=create_summary_metadata(display_name=None, description=None), tensor=tensor)
        self._write(summary, step)

    def hparams(self, values, metrics, name, step=None):
        """One HParams-plugin session: a trial's hyperparameters and its metrics, in <run>/tensorboard/<name>."""
        from tensorboard.plugins.hparams.summary_v2 import hparams_pb
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb

        if self.folder is None:
            return
        self._write(hparams_pb({k: _hparam_value(v) for k, v in values.items()}, trial_id=name), 0, name)
        for key, value in metrics.items():
            self._write(scalar_pb(key, float(value)), step, name)

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
