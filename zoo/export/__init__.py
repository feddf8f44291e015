"""Export for TF Serving and TFLite: versioned SavedModels with named signatures, TFLite files, a REST client.

- `export_saved_model`: `saved_models/<name>/<version>/`, checked against Keras before it appears.
- `export_tflite`: `saved_models/<name>/tflite/<version>/model.tflite`, run by `run_tflite`.
- `zoo.export.client`: request JSON for TF Serving's `:predict`, and prompt text <-> ids.
- `zoo/export/verify.py`: the TensorFlow-only checker, run in a fresh process.

Imports are lazy, so `import zoo.export` does not start TensorFlow.

Example:
    >>> from zoo.export import export_saved_model
    >>> export_saved_model("runs/train-cnn-20260101-120000").path   # doctest: +SKIP
    'saved_models/cnn/1'
"""

import importlib

_EXPORTS = {
    "export_saved_model": "zoo.export.saved_model",
    "ExportCheckError": "zoo.export.saved_model",
    "export_tflite": "zoo.export.tflite",
    "run_tflite": "zoo.export.tflite",
    "TraceError": "zoo.export.signatures",
    "load_export_source": "zoo.export.model_source",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'zoo.export' has no attribute {name!r}")
