"""Start TensorFlow without its C++ start-up lines: absl's "log messages before InitializeLog" warning,
oneDNN and "could not find cuda drivers" notes, the cuInit "CUDA error" of a machine without a GPU.

Those lines are written by C++ straight to file descriptor 2 while TensorFlow loads and scans its
devices, before TF_CPP_MIN_LOG_LEVEL can reach them, so `quiet_tensorflow()` imports TensorFlow
and scans the devices with descriptor 2 pointed at a temporary file, then replays every other line.
A user who set TF_CPP_MIN_LOG_LEVEL sees everything TensorFlow prints.

Example:
    >>> quiet_tensorflow()      # before the first `import tensorflow`; later calls do nothing
"""

import os
import re
import sys

# TensorFlow's C++ start-up lines that say nothing a learner can act on.
_TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ \S+\.(cc|h):\d+\]"
    r"|.*(cuInit|cuda drivers|TF_ENABLE_ONEDNN_OPTS|Unable to register cu|computation placer))"
)


def quiet_tensorflow():
    """Import TensorFlow with its C++ start-up lines filtered out of stderr (other lines pass through).

    Does nothing when the user set TF_CPP_MIN_LOG_LEVEL (they asked for TensorFlow's own logging).
    """
    import zoo

    if zoo.USER_SET_TF_LOG_LEVEL or "tensorflow" in sys.modules:
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device scan prints the cuInit line; do it now, quietly
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
        except Exception:
            pass  # the command's own import reports the error, with its traceback
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        for line in captured.read().decode("utf-8", "replace").splitlines():
            if line.strip() and not _TF_NOISE.match(line):
                print(line, file=sys.stderr)
