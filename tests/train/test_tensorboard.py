"""The run folder's TensorBoard logs, read back from the event files: tags, and steps that are global steps."""

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util.tensor_util import make_ndarray

from zoo.recipe import Run
from zoo.train.tensorboard import RunSummaries


def _events(folder):
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def _steps(events, tag):
    return [event.step for event in events.Tensors(tag)]


def test_scalars_sit_on_the_global_step_axis_across_two_fits(tmp_path):
    import keras

    run = Run("tb", {}, str(tmp_path))
    x = np.random.default_rng(0).random((96, 4)).astype("float32")
    y = (x.sum(axis=1) > 2).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    # 96 / 8 = 12 steps an epoch: training logs every 10 steps, epoch logs at 12 and 24.
    first = model.fit(
        x, y, batch_size=8, epochs=2, validation_data=(x[:16], y[:16]), verbose=0, callbacks=run.callbacks()
    )
    model.compile("sgd", "sparse_categorical_crossentropy")  # a second stage: a fresh optimizer at iteration 0
    second = model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=run.callbacks())
    run.finish(None, {"loss": first.history["loss"] + second.history["loss"]}, {})

    train = _events(run.file("tensorboard/train"))
    validation = _events(run.file("tensorboard/validation"))
    assert _steps(train, "loss") == [10, 12, 20, 24, 30, 36]  # the second stage continues the count
    assert _steps(validation, "loss") == [12, 24]
    # The epoch-end value is the epoch's loss as Keras reported it.
    epoch_end = {event.step: float(make_ndarray(event.tensor_proto)) for event in train.Tensors("loss")}
    assert epoch_end[12] == pytest.approx(first.history["loss"][0], rel=1e-5)
    assert run.summaries.epoch_steps == [12, 24, 36]


def test_a_resumed_optimizer_continues_from_its_iterations(tmp_path):
    import keras

    from zoo.train.tensorboard import StepScalars

    summaries = RunSummaries(str(tmp_path))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.optimizer.iterations.assign(100)  # as a checkpoint restore leaves it
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=2, epochs=1, verbose=0, callbacks=[StepScalars(summaries)])
    assert summaries.epoch_steps == [104]


def test_text_and_image_summaries_read_back_at_the_step(tmp_path):
    from zoo.gan.monitor import save_image_grid

    summaries = RunSummaries(str(tmp_path))
    summaries.step = 40
    summaries.text("samples", "'def' -> 'def f(x):'")
    grid = save_image_grid(np.zeros((4, 28, 28, 1)), str(tmp_path / "grid.png"))
    summaries.image("samples/grid", grid)
    summaries.close()

    events = _events(tmp_path / "train")
    assert _steps(events, "samples") == [40]
    assert make_ndarray(events.Tensors("samples")[0].tensor_proto).item().decode() == "'def' -> 'def f(x):'"
    assert _steps(events, "samples/grid") == [40]
    # An image summary holds width, height, then the PNG.
    width, height, png = events.Tensors("samples/grid")[0].tensor_proto.string_val
    assert png[:4] == b"\x89PNG" and int(width) > 0 and int(height) > 0


def test_hparams_sessions_hold_each_trial(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2

    summaries = RunSummaries(str(tmp_path))
    summaries.hparams({"learning_rate": 0.003, "batch_size": 8}, {"val_loss": 2.5}, name="trial-0", step=3)
    summaries.close()

    events = _events(tmp_path / "trial-0")
    content = events.PluginTagToContent("hparams")
    start = next(plugin_data_pb2.HParamsPluginData.FromString(c).session_start_info for c in content.values())
    assert start.hparams["learning_rate"].number_value == pytest.approx(0.003)
    assert start.hparams["batch_size"].number_value == 8
    assert _steps(events, "val_loss") == [3]


def test_no_tensorboard_counts_steps_but_writes_nothing(tmp_path):
    summaries = RunSummaries(None)
    summaries.scalars({"loss": 1.0})
    summaries.text("samples", "x")
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="at least 1"):
        RunSummaries(str(tmp_path), every=0)
