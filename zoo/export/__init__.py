"""Export for TF Serving and TFLite: versioned SavedModels with named signatures, TFLite files, a REST client.

- `zoo.export.saved_model.export_saved_model`: `saved_models/<name>/<version>/`, checked against Keras first.
- `zoo.export.tflite.export_tflite`: `saved_models/<name>/tflite/<version>/model.tflite`; `run_tflite` runs it.
- `zoo.export.client`: request JSON for TF Serving's `:predict`, and prompt text <-> token ids.
- `zoo/export/verify.py`: the TensorFlow-only checker, run as a script in a fresh process.
- `zoo.export.cli`: the `zoo export` command.

Nothing is imported here, so `zoo export --help` answers without starting TensorFlow.

Example:
    >>> from zoo.export.saved_model import export_saved_model
    >>> export_saved_model("runs/train-cnn-20260101-120000").path   # doctest: +SKIP
    'saved_models/cnn/1'
"""
