"""Training on several hosts with JAX: keras.distribution.initialize, one process per host.

Every host starts the same command with the coordinator's address (process 0, host:port),
the number of processes and its own process id, from options or from the environment:

    --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0     (on 10.0.0.1)
    --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 1     (on 10.0.0.2)

or KERAS_DISTRIBUTION_JOB_ADDRESSES / KERAS_DISTRIBUTION_NUM_PROCESSES /
KERAS_DISTRIBUTION_PROCESS_ID, which Keras reads itself. On a Cloud TPU VM pod slice
JAX finds all three on its own: `--coordinator auto`. `initialize` (jax.distributed)
must run before JAX touches a device; afterwards `keras.distribution.list_devices()`
lists the devices of every host, and a mesh over them spans the hosts. On CPUs the
processes exchange gradients over TCP (gloo), which is how the tests try it on 127.0.0.1.

Only process 0 writes the run folder; the others write theirs to a scratch folder
(`for_this_process`), because every process must run the same callbacks (validation and
sampling are collective computations) but one copy of the files is enough.

Example:
    >>> host_settings(None, None, None, environ={})   # one host: nothing to initialize
"""

import argparse
import os
import tempfile

from zoo.errors import UsageError

ENV = {
    "coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "process_id": "KERAS_DISTRIBUTION_PROCESS_ID",
}


def host_settings(coordinator, num_processes, process_id, environ=None):
    """(coordinator or None, num_processes, process_id) from the options, else the environment; None for one host.

    Example:
        >>> host_settings("127.0.0.1:1234", 2, 1)
        ('127.0.0.1:1234', 2, 1)
        >>> host_settings("127.0.0.1:1234", 2, 2)
        Traceback (most recent call last):
        ...
        zoo.errors.UsageError: --process-id must be in 0..1 for 2 processes, got 2.
    """
    environ = os.environ if environ is None else environ
    coordinator = coordinator or environ.get(ENV["coordinator"]) or None
    num_processes = num_processes if num_processes is not None else environ.get(ENV["num_processes"])
    process_id = process_id if process_id is not None else environ.get(ENV["process_id"])
    if coordinator is None and num_processes is None and process_id is None:
        return None
    if coordinator == "auto":  # a Cloud TPU VM slice: JAX reads the topology from the TPU metadata
        return None, None, None
    try:
        num_processes, process_id = int(num_processes), int(process_id)
    except (TypeError, ValueError):
        raise UsageError(
            "Several hosts need --coordinator host:port, --num-processes N and --process-id I together "
            f"(or {', '.join(ENV.values())}); got {coordinator!r}, {num_processes!r}, {process_id!r}."
        ) from None
    first = str(coordinator or "").split(",")[0]
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--coordinator must be host:port of process 0, e.g. 10.0.0.1:1234; got {coordinator!r}.")
    if num_processes < 1:
        raise UsageError(f"--num-processes must be at least 1, got {num_processes}.")
    if not 0 <= process_id < num_processes:
        raise UsageError(
            f"--process-id must be in 0..{num_processes - 1} for {num_processes} processes, got {process_id}."
        )
    return coordinator, num_processes, process_id


def initialize_hosts(coordinator=None, num_processes=None, process_id=None, log=print):
    """Join the cluster (keras.distribution.initialize) when several hosts are configured; True if it did.

    Call before anything runs on a JAX device.
    """
    settings = host_settings(coordinator, num_processes, process_id)
    if settings is None:
        return False
    import keras

    coordinator, num_processes, process_id = settings
    try:
        keras.distribution.initialize(coordinator, num_processes, process_id)
    except RuntimeError as err:
        raise UsageError(f"Cannot join the cluster at {coordinator}: {str(err).splitlines()[0]}") from None
    import jax

    log(
        f"process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} local devices, "
        f"{jax.device_count()} in all"
    )
    return True


def process_index():
    """This process's index among the hosts (0 when JAX is not running several)."""
    import keras

    if keras.backend.backend() != "jax":
        return 0
    import jax

    return jax.process_index()


def for_this_process(args, log=print):
    """`args` for this process: processes other than 0 write their run folder to a private scratch folder."""
    index = process_index()
    if index == 0 or not hasattr(args, "runs_dir"):
        return args
    scratch = tempfile.mkdtemp(prefix=f"zoo-process{index}-")
    log(f"process {index} is not process 0: its run folder and checkpoints go to {scratch}")
    return argparse.Namespace(**{**vars(args), "runs_dir": scratch})
