"""Fail before training when a batch will not fit the memory the user allows (--max-memory).

It uses `zoo explain`'s estimate (weights, gradients, AdamW moments,
activations after Korthikanti et al. 2022). With remat only each block's input
(2*s*b*h values) is kept per block, plus one block's full activations while it
is recomputed. The batch here is the micro-batch of one `fit()` step: gradient
accumulation adds one gradient-sized accumulator, not activations.

Example:
    >>> from zoo.llm.models.presets import get_preset
    >>> parse_memory("1.5GiB"), parse_memory("512MB")
    (1610612736, 512000000)
    >>> try:
    ...     check_memory(get_preset("gpt2_small"), batch_size=64, seq_len=1024, max_memory="8GiB")
    ... except MemoryBudgetError as err:
    ...     print(str(err).split(";")[1])
     the largest batch that fits is 2 (or use --remat, --accum-steps or a shorter --seq-len)
"""

import os
import re

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


class MemoryBudgetError(ValueError):
    """The estimated training memory is above the allowed budget."""


def parse_memory(text):
    """Bytes from "800MB", "2GiB", "1.5 GB" or a plain number of bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
        if not match or match.group(2).upper() not in _UNITS:
            raise ValueError(f"--max-memory must look like 800MB, 2GiB or 1.5GB, got {text!r}.")
        value, unit = float(match.group(1)), match.group(2).upper()
    if value <= 0:
        raise ValueError(f"--max-memory must be positive, got {text!r}.")
    return int(value * _UNITS[unit])


def training_memory(config, batch_size, seq_len, precision="float32", remat=False, accum_steps=1, kind="causal"):
    """Estimated bytes of one training step, as a dict with a "total"."""
    from zoo.llm.sizing.explain import PRECISIONS, memory_bytes

    memory = dict(memory_bytes(config, kind, batch_size=batch_size, seq_len=seq_len, precision=precision))
    if remat:
        act_bytes = PRECISIONS[precision][1]
        s, b, h, a = seq_len, batch_size, config.hidden_dim, config.num_heads
        one_layer = (34 * s * b * h + 5 * a * s * s * b) * act_bytes / 2
        head = memory["activations"] - one_layer * config.num_layers  # logits and the rest outside the blocks
        memory["activations"] = int(config.num_layers * s * b * h * act_bytes + one_layer + head)
    if accum_steps > 1:
        memory["accumulators"] = memory["gradients"]
    memory.pop("total", None)
    memory["total"] = sum(memory.values())
    return memory


def check_memory(
    config, batch_size, seq_len, max_memory, precision="float32", remat=False, accum_steps=1, kind="causal"
):
    """Return the estimate; raise MemoryBudgetError naming the largest batch that fits when it is too big."""
    budget = parse_memory(max_memory)
    memory = training_memory(config, batch_size, seq_len, precision, remat, accum_steps, kind)
    if memory["total"] <= budget:
        return memory
    fits = largest_batch(config, seq_len, budget, precision, remat, accum_steps, kind, upper=batch_size)
    parts = ", ".join(f"{name} {format_bytes(value)}" for name, value in memory.items() if name != "total")
    advice = f"the largest batch that fits is {fits}" if fits else "not even a batch of 1 fits"
    raise MemoryBudgetError(
        f"batch {batch_size} x {seq_len} tokens needs about {format_bytes(memory['total'])} ({parts}), "
        f"more than --max-memory {format_bytes(budget)}; {advice} "
        "(or use --remat, --accum-steps or a shorter --seq-len)"
    )


def available_memory():
    """Bytes this process can still use for training, or None where it cannot be told.

    On a GPU machine: the free memory of the first GPU (nvidia-smi). Otherwise the host's
    MemAvailable, lowered by a cgroup limit (containers) and by this process's RLIMIT_AS.

    Example:
        >>> available_memory() is None or available_memory() > 0
        True
    """
    gpu = _free_gpu_memory()
    if gpu is not None:
        return gpu
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as handle:
            cap = handle.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as handle:
            used = int(handle.read().strip())
        if cap.isdigit():
            limits.append(max(0, int(cap) - used))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as handle:
                used = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limits.append(max(0, soft - used))
    except (ImportError, OSError, ValueError):
        pass
    return min(limits) if limits else None


def _free_gpu_memory():
    import shutil
    import subprocess

    tool = shutil.which("nvidia-smi")
    if tool is None or os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return None
    try:
        answer = subprocess.run(
            [tool, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return int(answer.stdout.split()[0]) * 2**20  # MiB
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def check_available_memory(
    config, batch_size, seq_len, precision="float32", remat=False, accum_steps=1, kind="causal", available=None
):
    """Without --max-memory: refuse a batch whose estimate exceeds the memory this machine has free.

    Returns the estimate; raises MemoryBudgetError (naming the largest batch that fits) when it is too big.
    `available` (bytes) defaults to `available_memory()`; where that is unknown nothing is checked.

    Example:
        >>> from zoo.llm.models.presets import get_preset
        >>> check_available_memory(get_preset("tiny"), 2, 16, available=2**30)["total"] < 2**30
        True
    """
    available = available_memory() if available is None else available
    if available is None:
        return training_memory(config, batch_size, seq_len, precision, remat, accum_steps, kind)
    try:
        return check_memory(config, batch_size, seq_len, available, precision, remat, accum_steps, kind)
    except MemoryBudgetError as err:
        raise MemoryBudgetError(
            str(err).replace(
                f"more than --max-memory {format_bytes(available)}",
                f"more than the {format_bytes(available)} this machine has free",
            )
            + "; --max-memory sets the budget yourself"
        ) from None


def llm_config_of(model):
    """The LLMConfig of a zoo LLM, of its backbone, or of the model a trainer wraps (Distiller student, DPO
    policy); None for anything else.

    Example:
        >>> llm_config_of(object()) is None
        True
    """
    for candidate in (model, getattr(model, "backbone", None)):
        config = getattr(candidate, "llm_config", None)
        if config is not None:
            return config
    for name in ("student", "policy"):  # the model being trained inside a trainer
        inner = getattr(model, name, None)
        if inner is not None and inner is not model:
            return llm_config_of(inner)
    return None


def window_length(arrays):
    """The sequence length of a batch source: the second axis of its first 2-D array (tuples and dicts searched).

    Example:
        >>> import numpy as np
        >>> window_length(({"token_ids": np.zeros((4, 32))}, np.zeros((4, 32))))
        32
    """
    if isinstance(arrays, dict):
        arrays = list(arrays.values())
    if isinstance(arrays, (tuple, list)):
        for item in arrays:
            length = window_length(item)
            if length is not None:
                return length
        return None
    shape = getattr(arrays, "shape", None)
    return int(shape[1]) if shape is not None and len(shape) >= 2 else None


def check_model_fits(model, batch_size, seq_len, kind="causal"):
    """Before fit(): refuse (UsageError, naming the largest batch that fits) an LLM batch whose memory estimate
    exceeds what this machine has free. Models without an LLMConfig, and unknown lengths, pass unchecked.

    Example:
        >>> from zoo.llm import build_llm
        >>> from zoo.llm.models.presets import get_preset
        >>> check_model_fits(build_llm("causal", config=get_preset("tiny")), 2, 16)["total"] > 0
        True
    """
    from zoo.errors import UsageError

    config = llm_config_of(model)
    if config is None or not seq_len:
        return None
    try:
        return check_available_memory(config, int(batch_size), int(seq_len), kind=kind)
    except ValueError as err:  # MemoryBudgetError
        raise UsageError(str(err)) from None


def largest_batch(config, seq_len, budget, precision="float32", remat=False, accum_steps=1, kind="causal", upper=4096):
    """The largest batch (at most `upper`) whose estimate fits `budget` bytes; 0 if not even one does.

    Example:
        >>> from zoo.llm.models.presets import get_preset
        >>> largest_batch(get_preset("tiny"), 64, budget=2**40, upper=32)
        32
    """
    fits, low, high = 0, 1, upper
    while low <= high:  # the estimate grows with the batch, so bisect for the largest that fits
        middle = (low + high) // 2
        if training_memory(config, middle, seq_len, precision, remat, accum_steps, kind)["total"] <= budget:
            fits, low = middle, middle + 1
        else:
            high = middle - 1
    return fits


def format_bytes(n):
    """ "1.5 GiB" or "12.0 MiB": the unit that keeps the number readable.

    Example:
        >>> format_bytes(3 * 2**20), format_bytes(2**31)
        ('3.0 MiB', '2.0 GiB')
    """
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"
