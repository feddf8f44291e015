"""Ports: how one zoo variable corresponds to one or more Hugging Face tensors.

A family (gpt2.py, bert.py, llama.py) lists one `Port` per zoo variable; the
functions here then load a checkpoint's tensors into a model and export a
model's variables back, with the same checks both ways:

- every tensor a port needs must be present (the first few missing are named);
- every tensor must have the shape the config implies (the first few wrong are named);
- nothing is assigned until every check has passed, so a bad checkpoint leaves
  the model as it was.

Hugging Face stores a Linear layer's weight as [out, in]; Keras' Dense kernel is
[in, out], hence the transposes. zoo projects queries, keys and values with one
fused kernel, so three Hugging Face tensors meet in one variable.

Example:
    >>> import numpy as np, keras
    >>> layer = keras.layers.Dense(3); layer.build((None, 2))
    >>> port = transposed(layer.kernel, "w")
    >>> unused = load_tensors([port], {"w": np.ones((3, 2), "float32")}, "ckpt")
    >>> float(layer.kernel.numpy().sum())
    6.0
"""

import dataclasses
from collections.abc import Callable

import numpy as np

from zoo.checkpoints.errors import CheckpointError, name_first


@dataclasses.dataclass
class Port:
    """One zoo variable and the Hugging Face tensors it is made of.

    to_zoo: list of HF arrays (in `names` order) -> the variable's value.
    to_hf: the variable's value -> list of HF arrays.
    """

    variable: object
    names: tuple
    to_zoo: Callable
    to_hf: Callable


def same(variable, name):
    """The tensor is the variable (embeddings, norms, biases, GPT-2's Conv1D kernels)."""
    return Port(variable, (name,), lambda arrays: arrays[0], lambda value: [value])


def transposed(variable, name):
    """A Hugging Face Linear weight [out, in] for a Keras kernel [in, out]."""
    return Port(variable, (name,), lambda arrays: arrays[0].T, lambda value: [value.T])


def fused(variable, names, widths, transpose=True):
    """Several HF tensors concatenated along the output axis (q, k, v into zoo's fused qkv)."""
    edges = np.cumsum(widths)[:-1]

    def to_zoo(arrays):
        return np.concatenate([a.T if transpose else a for a in arrays], axis=-1)

    def to_hf(value):
        return [part.T if transpose else part for part in np.split(value, edges, axis=-1)]

    return Port(variable, tuple(names), to_zoo, to_hf)


def load_tensors(ports, tensors, source):
    """Assign `tensors` ({name: array}) to the ports' variables; all checks first, then all writes.

    Returns the names of tensors no port used (heads of another task, buffers).
    """
    needed = [name for port in ports for name in port.names]
    missing = [name for name in needed if name not in tensors]
    if missing:
        raise CheckpointError(
            f"{source}: {len(missing)} tensor(s) missing: {name_first(missing)}; "
            "the checkpoint is incomplete or of another architecture"
        )
    values, wrong = [], []
    for port in ports:
        current = np.asarray(port.variable.numpy())
        expected = [a.shape for a in port.to_hf(current)]
        arrays = [np.asarray(tensors[name]) for name in port.names]
        for name, array, shape in zip(port.names, arrays, expected):
            if tuple(array.shape) != tuple(shape):
                wrong.append(f"{name} {tuple(array.shape)} (config implies {tuple(shape)})")
        values.append(arrays)
    if wrong:
        raise CheckpointError(
            f"{source}: {len(wrong)} tensor shape(s) do not match config.json: {name_first(wrong, 3)}"
        )
    for port, arrays in zip(ports, values):
        port.variable.assign(np.asarray(port.to_zoo(arrays), dtype=port.variable.dtype))
    return sorted(set(tensors) - set(needed))


def export_tensors(ports):
    """{HF name: float32 numpy array} of the ports' variables."""
    out = {}
    for port in ports:
        value = np.asarray(port.variable.numpy(), dtype="float32")
        for name, array in zip(port.names, port.to_hf(value)):
            out[name] = np.ascontiguousarray(array)
    return out
