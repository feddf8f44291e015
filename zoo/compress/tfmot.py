"""Import TF-MOT and tf_keras lazily, without turning TensorFlow's `keras` attribute into Keras 2 for everyone.

`tensorflow_model_optimization` sets `TF_USE_LEGACY_KERAS=1` in `os.environ` when it is
imported. TensorFlow reads that variable the first time its `keras` attribute is
touched, and Keras 3's optimizer lookup reads it on every call, so a later Keras 3
step in the same process (a test suite, a notebook) could silently get Keras 2. This
module resolves TensorFlow's lazy `keras` attribute first (so it stays Keras 3),
imports TF-MOT, and puts the variable back as it was. TF-MOT has already bound
tf_keras internally by then, so it keeps working.

Example:
    >>> from zoo.compress.tfmot import load_tfmot
    >>> tfmot, tf_keras = load_tfmot()
    >>> schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0)
"""

import os

_ENV = "TF_USE_LEGACY_KERAS"
_MODULES = None


def load_tfmot():
    """(tensorflow_model_optimization, tf_keras), imported once, with TF_USE_LEGACY_KERAS restored."""
    global _MODULES
    if _MODULES is not None:
        return _MODULES
    from zoo.parallel.backend import require_tensorflow

    # TF-MOT rewrites tf_keras models; the Keras 3 model it bridges from must live on TensorFlow too.
    require_tensorflow("TF-MOT (pruning, quantization-aware training)")
    import tensorflow as tf

    before = os.environ.get(_ENV)
    # Touching an attribute resolves TensorFlow's lazy `keras` module now, under the caller's
    # setting (Keras 3 unless the user asked otherwise), before TF-MOT changes the variable.
    getattr(getattr(tf, "keras"), "__name__", None)
    try:
        import tensorflow_model_optimization as tfmot
        import tf_keras
    except ImportError as err:
        raise ImportError(
            "zoo.compress needs tensorflow-model-optimization and tf-keras for pruning and "
            f"quantization-aware training ({err}). Install them: pip install tensorflow-model-optimization tf-keras"
        ) from err
    finally:
        if before is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = before
    _MODULES = (tfmot, tf_keras)
    return _MODULES
