"""Checkpoints every N steps and resume at the same step after a kill.

`StepCheckpoint` saves the model *and* optimizer state (AdamW moments,
accumulators, loss scale, step counters) every `every` fit steps to
`checkpoint.weights.h5`, through a temporary file and a rename, then writes
`state.json` with the global step and the architecture. A run killed at any
point therefore leaves the last complete checkpoint.

Keras' BackupAndRestore resumes at the start of the interrupted epoch; here an
epoch is a validation interval of an endless stream of batches, so resuming
means: load the weights, skip the batches already trained on (the data order
is fixed by the seed) and go on from the saved step. `check_resumable`
refuses a checkpoint of another architecture with the fields that differ.

Example:
    >>> import tempfile
    >>> read_checkpoint(tempfile.mkdtemp()) is None   # an empty folder has no checkpoint
    True
"""

import json
import os

import keras

from zoo.data.atomic_files import write_text_atomic

WEIGHTS = "checkpoint.weights.h5"
STATE = "state.json"


class StepCheckpoint(keras.callbacks.Callback):
    """Save weights + optimizer every `every` steps into `folder`, counting from `start_step`.

    Example:
        >>> StepCheckpoint("/tmp/ckpt", every=50, llm_config={}, start_step=100).step
        100
    """

    def __init__(self, folder, every, llm_config, start_step=0, kind="causal"):
        super().__init__()
        if every < 1:
            raise ValueError(f"--checkpoint-every must be at least 1 step, got {every!r}.")
        self.folder = folder
        self.every = int(every)
        self.llm_config = dict(llm_config)
        self.kind = kind
        self.step = int(start_step)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self.save()

    def save(self):
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, WEIGHTS)
        tmp = os.path.join(self.folder, f".tmp-{os.getpid()}-{WEIGHTS}")
        try:
            self.model.save_weights(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        # state.json goes last: when it names a step, the weights of that step are complete.
        state = {"step": self.step, "kind": self.kind, "config": self.llm_config}
        write_text_atomic(os.path.join(self.folder, STATE), json.dumps(state, indent=2) + "\n")


def checkpoint_folder(path):
    """The checkpoint folder of a run folder (`<run>/checkpoints`) or the folder itself."""
    nested = os.path.join(path, "checkpoints")
    return nested if os.path.isfile(os.path.join(nested, STATE)) else path


def read_checkpoint(path):
    """The saved state dict ({"step", "kind", "config"}) of a run or checkpoint folder, or None."""
    folder = checkpoint_folder(path)
    state_path = os.path.join(folder, STATE)
    if not os.path.isfile(state_path):
        return None
    with open(state_path, encoding="utf-8") as f:
        state = json.load(f)
    state["folder"] = folder
    state["weights"] = os.path.join(folder, WEIGHTS)
    if not os.path.isfile(state["weights"]):
        raise FileNotFoundError(f"{state_path} names step {state['step']} but {state['weights']} is missing.")
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


def restore(model, state):
    """Load a checkpoint's weights and optimizer state into a compiled model; return the saved step."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(state["weights"])
    return int(state["step"])
