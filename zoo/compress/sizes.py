"""Model file sizes as a compression table reports them: raw bytes and gzip-compressed bytes.

Pruning zeros weights but keeps the dense layout, so a pruned model's raw file is as
big as before; the saving shows once the file is compressed (TF-MOT's own tutorials
measure it with gzip). Quantization shrinks the raw file itself.

Example:
    >>> from zoo.compress.sizes import keras_weights_size, bytes_size
    >>> keras_weights_size(model)          # doctest: +SKIP
    {'raw_bytes': 374690, 'gzip_bytes': 345210}
    >>> bytes_size(b"\\0" * 1000)["gzip_bytes"] < 100
    True
"""

import gzip
import io
import os

import numpy as np


def bytes_size(content):
    """{"raw_bytes", "gzip_bytes"} of some bytes (gzip level 9, as the TF-MOT tutorials do)."""
    content = bytes(content)
    return {"raw_bytes": len(content), "gzip_bytes": len(gzip.compress(content, compresslevel=9, mtime=0))}


def file_size(path):
    """{"raw_bytes", "gzip_bytes"} of a file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No file to measure at {path!r}.")
    with open(path, "rb") as f:
        return bytes_size(f.read())


def keras_weights_size(model):
    """{"raw_bytes", "gzip_bytes"} of a model's weights stored uncompressed (numpy .npz, no optimizer state).

    Keras' own .weights.h5 also holds the optimizer's variables once a model was trained, which
    would make a trained model look bigger than its pruned copy; only the weights count here.
    """
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(w) for w in model.get_weights()])
    return bytes_size(buffer.getvalue())


def layer_sparsity(model, layers=None):
    """{layer name: share of exact zeros in its kernel or embedding table} for layers with one.

    Biases are left out: TF-MOT prunes kernels only.
    """
    report = {}
    for layer in layers if layers is not None else _leaf_layers(model):
        kernel = _main_weight(layer)
        if kernel is not None:
            values = np.asarray(kernel)
            report[_path(layer)] = float(np.mean(values == 0))
    return report


def overall_sparsity(model, layers=None):
    """Share of zeros over all kernels/embedding tables together (weighted by size)."""
    zeros = total = 0
    for layer in layers if layers is not None else _leaf_layers(model):
        kernel = _main_weight(layer)
        if kernel is not None:
            values = np.asarray(kernel)
            zeros += int(np.sum(values == 0))
            total += values.size
    return zeros / total if total else 0.0


def _leaf_layers(model):
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if not list(layer._flatten_layers(include_self=False, recursive=False))
    ]


def _main_weight(layer):
    for attr in ("kernel", "embeddings"):
        value = getattr(layer, attr, None)
        if value is not None and hasattr(value, "shape") and len(value.shape) >= 2:
            return value.numpy() if hasattr(value, "numpy") else value
    cell = getattr(layer, "cell", None)  # an LSTM keeps its kernel on its cell
    if cell is not None and getattr(cell, "kernel", None) is not None:
        return np.asarray(cell.kernel)
    return None


def _path(layer):
    return getattr(layer, "path", None) or layer.name
