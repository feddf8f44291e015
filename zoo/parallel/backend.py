"""Choose the Keras backend (TensorFlow or JAX) from the command line, before Keras is imported.

Keras reads KERAS_BACKEND once, when it is first imported, so `--backend jax` has to be
seen before anything imports Keras: `zoo <command>` and the recipe runner call
`select_backend(argv)` first thing. On JAX, `--cpu-devices N` becomes
XLA_FLAGS=--xla_force_host_platform_device_count=N, which makes N virtual CPU devices to
try a device mesh without accelerators; it too must be set before JAX is imported.
Without it, `--mesh BxM` asks for B*M virtual CPU devices (used only where JAX finds no
GPU or TPU), so `zoo pretrain-clm --backend jax --distribution data+model --mesh 2x2`
runs as it is on a laptop and on a TPU VM.
KERAS_BACKEND=jax in the environment works as well as the option.

Models, the tf.data corpus pipeline, fit(), checkpoints and run folders are the same on
both backends. A few things are TensorFlow's own: tf.distribute strategies, SavedModel
export for TF Serving, TFLite and TF-MOT; `require_tensorflow(what)` refuses them on JAX
with a line that says what to do instead.

Example:
    >>> env = {}
    >>> select_backend(["--steps", "3"], environ=env)
    'tensorflow'
    >>> option_value(["--backend=jax", "--cpu-devices", "4"], "--cpu-devices")
    '4'
"""

import os
import re
import sys

from zoo.errors import UsageError

BACKENDS = ("tensorflow", "jax")
_DEVICE_COUNT = re.compile(r"--xla_force_host_platform_device_count=\d+")


def option_value(argv, name):
    """The value of `--name X` or `--name=X` in argv (the last one given), or None."""
    value = None
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def active_backend():
    """The backend Keras runs on in this process, or None while Keras is not imported yet."""
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None and hasattr(keras, "backend") else None


def select_backend(argv, environ=None):
    """Set KERAS_BACKEND (and, on JAX, the virtual CPU device count) from argv; the backend name.

    `--backend` wins over the environment's KERAS_BACKEND; without either it is TensorFlow.
    Raises UsageError for an unknown backend, or when Keras already runs on another backend
    in this process (a backend cannot change once Keras is imported).
    """
    environ = os.environ if environ is None else environ
    given = option_value(argv, "--backend")
    backend = given or environ.get("KERAS_BACKEND") or "tensorflow"
    if backend not in BACKENDS:
        where = "--backend" if given else "KERAS_BACKEND"
        raise UsageError(f"{where} {backend!r} is not a backend here; choose one of {', '.join(BACKENDS)}.")
    running = active_backend()
    if running is not None and running != backend:
        raise UsageError(
            f"--backend {backend}: Keras already runs on {running} in this process and cannot switch; "
            f"start a fresh process (e.g. KERAS_BACKEND={backend} zoo ...)."
        )
    environ["KERAS_BACKEND"] = backend
    devices = option_value(argv, "--cpu-devices") or option_value(argv, "--cpu-replicas")
    if backend == "jax" and devices is None:
        devices = mesh_devices(option_value(argv, "--mesh"), environ)
    if backend == "jax" and devices is not None:
        set_cpu_devices(devices, environ)
    return backend


def mesh_devices(mesh, environ):
    """The virtual CPU devices a --mesh BxM asks for, when nothing else set a count (else None).

    They only matter where JAX finds no accelerator: on a GPU or TPU host JAX uses the real
    devices and the CPU count is ignored, so `--mesh 2x2` runs the same command everywhere.
    """
    if mesh is None or _DEVICE_COUNT.search(environ.get("XLA_FLAGS", "")) or jax_started():
        return None
    parts = mesh.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        return None  # the recipe's own parsing reports a malformed mesh
    return int(parts[0]) * int(parts[1])


def set_cpu_devices(count, environ=None):
    """Ask XLA for `count` virtual CPU devices (XLA_FLAGS); only works before JAX is imported.

    Example (in a process where JAX has not started its devices yet):
        >>> env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
        >>> set_cpu_devices(8, env)  # doctest: +SKIP
        >>> env["XLA_FLAGS"]  # doctest: +SKIP
        '--xla_force_host_platform_device_count=8'
    """
    environ = os.environ if environ is None else environ
    if not str(count).isdigit() or int(count) < 1:
        raise UsageError(f"--cpu-devices must be a positive integer, got {count!r}.")
    flag = f"--xla_force_host_platform_device_count={int(count)}"
    flags = environ.get("XLA_FLAGS", "")
    if jax_started():
        if flag not in flags:
            raise UsageError(
                f"--cpu-devices {count}: JAX has already made its devices in this process (XLA_FLAGS={flags!r}); "
                f"start a fresh process with XLA_FLAGS={flag}."
            )
        return
    flags = _DEVICE_COUNT.sub(flag, flags) if _DEVICE_COUNT.search(flags) else f"{flags} {flag}".strip()
    environ["XLA_FLAGS"] = flags


def jax_started():
    """True once JAX has made its devices in this process (XLA_FLAGS are read then, not at import)."""
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # another JAX layout: assume it has started
        return True


def require_tensorflow(what, instead=""):
    """Raise UsageError when Keras runs on another backend: `what` is TensorFlow's own.

    Example:
        >>> require_tensorflow("SavedModel export")   # on the TensorFlow backend: nothing happens
    """
    running = active_backend() or os.environ.get("KERAS_BACKEND", "tensorflow")
    if running != "tensorflow":
        raise UsageError(
            f"{what} needs the TensorFlow backend; Keras runs on {running} here. "
            f"{instead or 'Run it again with --backend tensorflow (the default).'}"
        )
