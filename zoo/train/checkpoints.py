"""Checkpoints every N steps, each one atomic, and resume at the same step after a kill.

`StepCheckpoint` saves the model *and* optimizer state (AdamW moments,
accumulators, loss scale, step counters) every `every` fit steps. One
checkpoint is one folder, written whole and then renamed into place:

    checkpoints/
      step-00000014/checkpoint.weights.h5   the weights and optimizer of step 14
      step-00000014/state.json              step 14, the architecture, the run's settings, the weights' sha256
      state.json                            the pointer, written last: names step-00000014

A kill at any moment leaves the pointer on the last complete step folder, so
the weights, optimizer, data position and schedule always come from one step.
The step before the newest is kept too; older ones are removed.

Keras' BackupAndRestore resumes at the start of the interrupted epoch; here an
epoch is a validation interval of an endless stream of batches, so resuming
means: load the weights, skip the batches already trained on (the data order
is fixed by the seed) and go on from the saved step. `check_resumable`
refuses a checkpoint of another architecture with the fields that differ, and
`check_settings` one trained with another batch size, sequence length, seed,
schedule or data (which would put the data position or the learning rate
somewhere else). `read_checkpoint` checks the weights against the sha256 the
step recorded, so a damaged or truncated file is one line naming it.

Example:
    >>> import tempfile
    >>> read_checkpoint(tempfile.mkdtemp()) is None   # an empty folder has no checkpoint
    True
"""

import hashlib
import json
import math
import os
import shutil

import keras
import numpy as np

from zoo.data.atomic_files import atomic_folder, check_free_space, write_json_atomic, writing_to
from zoo.errors import UsageError

WEIGHTS = "checkpoint.weights.h5"
STATE = "state.json"
STEP_PREFIX = "step-"
KEEP = 2  # the newest step folder and the one before it


def step_folder_name(step):
    """The folder name of a step: `step-00000014` (zero-padded so that names sort by step)."""
    return f"{STEP_PREFIX}{int(step):08d}"


def file_sha256(path):
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _itemsize(dtype):
    try:
        return np.dtype(keras.backend.standardize_dtype(dtype)).itemsize
    except TypeError:  # bfloat16 and float8 are not numpy dtypes without ml_dtypes
        return 2


def weights_bytes(model):
    """About how many bytes the model's weights and optimizer variables take on disk."""
    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)  # an uncompiled model has none
    if optimizer is not None:
        variables += list(optimizer.variables)
    return sum(int(np.prod(v.shape)) * _itemsize(v.dtype) for v in variables)


def weights_are_finite(model):
    """Whether every float weight of `model` is finite (no NaN, no infinity)."""
    for weight in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(weight))
        if value.dtype.kind in "iub":
            continue
        if not np.all(np.isfinite(value.astype(np.float32))):
            return False
    return True


class StepCheckpoint(keras.callbacks.Callback):
    """Save weights + optimizer every `every` steps into `folder`, counting from `start_step`.

    `settings` (batch size, sequence length, seed, schedule...) are recorded so that a resume
    with other values can be refused. A step whose loss or weights are not finite is not saved:
    the pointer stays on the last finite checkpoint.

    Example:
        >>> StepCheckpoint("/tmp/ckpt", every=50, llm_config={}, start_step=100).step
        100
    """

    def __init__(self, folder, every, llm_config, start_step=0, kind="causal", settings=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"--checkpoint-every must be at least 1 step, got {every!r}.")
        self.folder = folder
        self.every = int(every)
        self.llm_config = dict(llm_config)
        self.kind = kind
        self.settings = dict(settings or {})
        self.step = int(start_step)
        self.saved_step = None  # the step of the last checkpoint this callback wrote

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every:
            return
        losses = [float(v) for k, v in (logs or {}).items() if k.endswith("loss") and np.ndim(v) == 0]
        if all(math.isfinite(v) for v in losses) and weights_are_finite(self.model):
            self.save()

    def save(self):
        """Write the step folder whole, then the pointer; remove step folders older than the one before."""
        name = step_folder_name(self.step)
        final = os.path.join(self.folder, name)
        # h5py prints pages of errors (and has crashed) on a full disk: refuse before writing.
        check_free_space(self.folder, int(weights_bytes(self.model) * 1.05) + (1 << 20))
        if os.path.exists(final):  # written by a process killed before its pointer: never pointed at, so unused
            shutil.rmtree(final)
        with atomic_folder(final) as tmp:
            weights = os.path.join(tmp, WEIGHTS)
            with writing_to(os.path.join(final, WEIGHTS)):
                self.model.save_weights(weights)
            state = {
                "step": self.step,
                "kind": self.kind,
                "config": self.llm_config,
                "settings": self.settings,
                "folder": name,
                "weights_bytes": os.path.getsize(weights),
                "weights_sha256": file_sha256(weights),
            }
            write_json_atomic(os.path.join(tmp, STATE), state)
        # The pointer goes last: when it names a step, that step's folder is complete.
        write_json_atomic(os.path.join(self.folder, STATE), state)
        self.saved_step = self.step
        self._remove_old(name)

    def _remove_old(self, newest):
        names = os.listdir(self.folder)
        steps = sorted(n for n in names if n.startswith(STEP_PREFIX) and n <= newest)
        # Older steps, and temporary folders of writes a kill interrupted (this process has none open).
        for old in steps[:-KEEP] + [n for n in names if n.startswith(f".tmp-{STEP_PREFIX}")]:
            shutil.rmtree(os.path.join(self.folder, old), ignore_errors=True)


def checkpoint_folder(path):
    """The checkpoint folder of a run folder (`<run>/checkpoints`) or the folder itself."""
    nested = os.path.join(path, "checkpoints")
    return nested if os.path.isfile(os.path.join(nested, STATE)) else path


def _read_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"Checkpoint file {path} is damaged ({err}); resume from another run or start anew.") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise UsageError(f"Checkpoint file {path} is damaged (no step number); resume from another run or start anew.")
    return state


def read_checkpoint(path):
    """The saved state dict ({"step", "kind", "config", "settings", ...}) of a run or checkpoint folder, or None.

    A pointer to a missing step folder, a weights file that is missing, truncated or damaged (its sha256
    differs from the one recorded) and an unreadable state.json raise UsageError naming the file.
    """
    folder = checkpoint_folder(path)
    state_path = os.path.join(folder, STATE)
    if not os.path.isfile(state_path):
        return None
    state = _read_state(state_path)
    if "folder" in state and os.path.basename(os.path.normpath(folder)) != state["folder"]:
        # The pointer of a checkpoints/ folder: the step folder it names must say the same step.
        step_dir = os.path.join(folder, state["folder"])
        step_state = os.path.join(step_dir, STATE)
        if not os.path.isfile(step_state):
            raise UsageError(
                f"Checkpoint {state_path} names step {state['step']} but {step_state} is missing; "
                "the checkpoint folder was damaged. Resume from another run or start anew."
            )
        pointed = _read_state(step_state)
        if pointed["step"] != state["step"]:
            raise UsageError(
                f"Checkpoint {state_path} names step {state['step']} but {step_state} holds step {pointed['step']}; "
                "the checkpoint folder was damaged. Resume from another run or start anew."
            )
        state, folder = pointed, step_dir
    state["folder"] = folder
    state["weights"] = os.path.join(folder, WEIGHTS)
    if not os.path.isfile(state["weights"]):
        raise UsageError(
            f"Checkpoint {state_path} names step {state['step']} but {state['weights']} is missing; "
            "resume from another run or start anew."
        )
    if "weights_sha256" in state:
        size = os.path.getsize(state["weights"])
        if size != state.get("weights_bytes", size) or file_sha256(state["weights"]) != state["weights_sha256"]:
            raise UsageError(
                f"Checkpoint file {state['weights']} is damaged or truncated ({size} bytes, its sha256 differs "
                f"from the one step {state['step']} recorded); resume from another run or start anew."
            )
    return state


def _field_defaults():
    import dataclasses

    from zoo.llm.config import LLMConfig

    return {
        f.name: f.default
        for f in dataclasses.fields(LLMConfig)
        if f.default is not dataclasses.MISSING and f.name != "attention_options"
    }


def check_resumable(state, llm_config, kind="causal"):
    """Raise a ValueError when a checkpoint was written by another architecture or model kind.

    Example:
        >>> check_resumable({"kind": "causal", "config": {"hidden_dim": 64}, "folder": "ckpt"}, {"hidden_dim": 128})
        Traceback (most recent call last):
        ...
        ValueError: Cannot resume from ckpt: it holds another architecture (hidden_dim: checkpoint 64, this run 128). Resume with the same --preset and options, or start a new run.
    """
    if state.get("kind") != kind:
        raise ValueError(
            f"Cannot resume from {state['folder']}: it holds a {state.get('kind')!r} model, "
            f"this run trains a {kind!r} model."
        )
    from zoo.llm.config import upgrade_flat_attention_fields

    # A checkpoint written before attention options moved into attention_options holds them flat.
    saved, wanted = upgrade_flat_attention_fields(state.get("config", {})), dict(llm_config)
    # A field added after the checkpoint was written (norm_type, mlp, rope_*...) defaults to the behaviour
    # the checkpoint was trained with.
    saved = {**{key: value for key, value in _field_defaults().items() if key in wanted}, **saved}
    differ = [
        f"{key}: checkpoint {saved.get(key)!r}, this run {wanted.get(key)!r}"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if differ:
        raise ValueError(
            f"Cannot resume from {state['folder']}: it holds another architecture "
            f"({'; '.join(differ)}). Resume with the same --preset and options, or start a new run."
        )


def check_settings(state, settings):
    """Raise a ValueError when the run that wrote a checkpoint used other data-position or schedule settings.

    Only the settings both sides recorded are compared (a checkpoint from before settings were recorded
    is not checked).

    Example:
        >>> check_settings({"settings": {"batch_size": 4}, "folder": "ckpt"}, {"batch_size": 8})
        Traceback (most recent call last):
        ...
        ValueError: Cannot resume from ckpt exactly: batch_size: checkpoint 4, this run 8. These decide which batches come next and the learning rate of each step; resume with the checkpoint's values, or start a new run.
    """
    saved = state.get("settings") or {}
    differ = [
        f"{key}: checkpoint {saved[key]!r}, this run {settings[key]!r}"
        for key in sorted(set(saved) & set(settings))
        if saved[key] != settings[key]
    ]
    if differ:
        raise ValueError(
            f"Cannot resume from {state['folder']} exactly: {'; '.join(differ)}. These decide which batches come "
            "next and the learning rate of each step; resume with the checkpoint's values, or start a new run."
        )


def restore(model, state):
    """Load a checkpoint's weights and optimizer state into a compiled model; return the saved step.

    A weights file h5py cannot read (or that holds other variables) raises UsageError naming the file.
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(state["weights"])
    except (OSError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"Cannot load checkpoint file {state['weights']}: {first}") from None
    return int(state["step"])
