"""Checkpoints as atomic units: a full disk, a damaged or truncated file, a pointer to nothing — one line each."""

import json
import os
import shutil

import keras
import numpy as np
import pytest

from zoo.errors import EnvironmentFault, UsageError
from zoo.train.checkpoints import STATE, WEIGHTS, StepCheckpoint, read_checkpoint, restore, step_folder_name


def tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory):
    """(weights after 6 steps, checkpoint folder) of a fit with a checkpoint every 2 steps; fit once per module."""
    keras.utils.set_random_seed(0)
    model = tiny_model()
    x, y = np.random.default_rng(0).normal(size=(24, 4)), np.zeros((24, 3))
    folder = tmp_path_factory.mktemp("fit") / "checkpoints"
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[StepCheckpoint(str(folder), every=2, llm_config={})])
    return model.get_weights(), folder


@pytest.fixture()
def trained(checkpointed, tmp_path):
    """(a model holding the weights of step 6, a copy of the checkpoint folder) for one test to change."""
    weights, pristine = checkpointed
    model = tiny_model()
    model.set_weights(weights)
    folder = tmp_path / "checkpoints"
    shutil.copytree(pristine, folder)
    return model, folder


def test_each_checkpoint_is_a_step_folder_and_the_pointer_names_the_newest(trained):
    model, folder = trained
    assert sorted(p.name for p in folder.iterdir()) == [STATE, step_folder_name(4), step_folder_name(6)]
    state = read_checkpoint(str(folder))
    assert state["step"] == 6 and state["folder"] == str(folder / step_folder_name(6))
    fresh = tiny_model()
    assert restore(fresh, state) == 6
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_full_disk_mid_checkpoint_keeps_the_previous_one(trained, monkeypatch):
    model, folder = trained
    checkpoint = StepCheckpoint(str(folder), every=2, llm_config={}, start_step=6)
    checkpoint.set_model(model)

    def h5py_on_a_full_disk(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\x89HDF half")  # what h5py leaves before it fails
        raise OSError(None, "Can't synchronously write data (file write failed: errno = 28, No space left on device)")

    monkeypatch.setattr(model, "save_weights", h5py_on_a_full_disk)
    with pytest.raises(EnvironmentFault) as info:
        checkpoint.on_train_batch_end(0)
        checkpoint.on_train_batch_end(1)
    message = str(info.value)
    assert message.startswith(f"cannot write {folder / step_folder_name(8) / WEIGHTS}: no space left on device")
    assert "\n" not in message
    # Nothing of step 8 is left and the pointer still names step 6, whose files are whole.
    assert sorted(p.name for p in folder.iterdir()) == [STATE, step_folder_name(4), step_folder_name(6)]
    assert read_checkpoint(str(folder))["step"] == 6


def test_too_little_free_space_is_refused_before_h5py_writes(trained, monkeypatch):
    model, folder = trained
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 30, 1 << 30, 0))
    checkpoint = StepCheckpoint(str(folder), every=1, llm_config={}, start_step=6)
    checkpoint.set_model(model)
    with pytest.raises(EnvironmentFault, match=r"cannot write .*checkpoints: it needs about .* MiB .*\(ENOSPC\)"):
        checkpoint.on_train_batch_end(0)
    assert read_checkpoint(str(folder))["step"] == 6


def test_damaged_truncated_or_missing_files_are_named(trained):
    _, folder = trained
    weights = folder / step_folder_name(6) / WEIGHTS
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(UsageError, match=rf"Checkpoint file {weights} is damaged or truncated"):
        read_checkpoint(str(folder))
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit flipped
    with pytest.raises(UsageError, match=rf"{weights} is damaged or truncated"):
        read_checkpoint(str(folder))
    weights.unlink()
    with pytest.raises(UsageError, match=rf"names step 6 but {weights} is missing"):
        read_checkpoint(str(folder))
    shutil.rmtree(folder / step_folder_name(6))
    with pytest.raises(UsageError, match=rf"names step 6 but {folder / step_folder_name(6) / STATE} is missing"):
        read_checkpoint(str(folder))
    (folder / STATE).write_text('{"step": 6, "fol')  # a pointer cut short
    with pytest.raises(UsageError, match=rf"Checkpoint file {folder / STATE} is damaged"):
        read_checkpoint(str(folder))
    # The step folder before it is still a complete checkpoint of its own.
    assert read_checkpoint(str(folder / step_folder_name(4)))["step"] == 4


def test_a_step_with_non_finite_weights_is_not_saved(trained):
    model, folder = trained
    checkpoint = StepCheckpoint(str(folder), every=1, llm_config={}, start_step=6)
    checkpoint.set_model(model)
    model.layers[0].kernel.assign(np.full((4, 3), np.nan, "float32"))
    checkpoint.on_train_batch_end(0, {"loss": 1.0})
    checkpoint.on_train_batch_end(1, {"loss": float("nan")})
    assert json.loads((folder / STATE).read_text())["step"] == 6 and checkpoint.saved_step is None
    assert not os.path.exists(folder / step_folder_name(7))
