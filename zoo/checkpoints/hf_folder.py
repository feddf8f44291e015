"""Hugging Face checkpoint folders: config.json plus safetensors weights, read and written with numpy.

The layout `transformers`' `save_pretrained` writes and the Hub serves:

    config.json                          architecture ("model_type" names the family)
    model.safetensors                    all tensors, or sharded as
    model-00001-of-00002.safetensors     ... with
    model.safetensors.index.json         {"weight_map": {tensor name: shard file}}
    tokenizer files                      vocab.json + merges.txt, vocab.txt, tokenizer.model, tokenizer.json

Tensors are read with `safetensors.numpy` (no torch needed). Writing goes to a
temporary folder that is renamed into place at the end, so a failed save never
leaves a half-written checkpoint.

Example:
    >>> import numpy as np, tempfile
    >>> folder = tempfile.mkdtemp() + "/ckpt"
    >>> write_hf_folder(folder, {"model_type": "gpt2"}, {"w": np.ones((2, 2), "float32")})
    >>> read_hf_folder(folder)[1]["w"].shape
    (2, 2)
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from zoo.checkpoints.errors import CheckpointError

WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
# A shard holds at most this many bytes (transformers' default is 5 GB; smaller shards stream better).
DEFAULT_SHARD_BYTES = 2 * 1024**3


def is_hf_folder(path):
    """Whether `path` looks like a Hugging Face folder (config.json with a model_type)."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    try:
        return "model_type" in json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False


def read_hf_config(path):
    """config.json of a Hugging Face folder as a dict."""
    config_path = Path(path) / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no config.json; pass a Hugging Face or keras-hub checkpoint folder") from None
    except ValueError as error:
        raise CheckpointError(f"{config_path} is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path}: expected a JSON object")
    return config


def weight_files(path):
    """The safetensors files of a folder: one file, or the shards its index names."""
    folder = Path(path)
    if (folder / INDEX_FILE).is_file():
        index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
        shards = sorted(set(index.get("weight_map", {}).values()))
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise CheckpointError(f"{folder}: shard(s) {', '.join(missing)} named in {INDEX_FILE} are missing")
        return [folder / name for name in shards]
    if (folder / WEIGHTS_FILE).is_file():
        return [folder / WEIGHTS_FILE]
    if list(folder.glob("*.bin")) or list(folder.glob("*.pt")):
        raise CheckpointError(
            f"{folder}: only PyTorch .bin/.pt weights; zoo reads safetensors "
            "(convert once with transformers: model.save_pretrained(path, safe_serialization=True))"
        )
    raise CheckpointError(f"{folder}: no {WEIGHTS_FILE} and no {INDEX_FILE}")


def read_hf_folder(path):
    """(config dict, {tensor name: float32 numpy array}) of a Hugging Face folder."""
    from safetensors.numpy import load_file

    config = read_hf_config(path)
    tensors = {}
    for file in weight_files(path):
        try:
            loaded = load_file(str(file))
        except Exception as error:  # noqa: BLE001 -- safetensors raises its own error types for corrupt headers
            raise CheckpointError(f"{file}: not a readable safetensors file ({error})") from None
        for name, value in loaded.items():
            # float16 and bfloat16 (numpy kind "V" through ml_dtypes) checkpoints compute in float32 here;
            # a dtype policy (from_pretrained(dtype="mixed_bfloat16")) chooses the compute precision.
            tensors[name] = value.astype("float32") if value.dtype.kind in "fV" else value
    return config, tensors


def write_hf_folder(path, config, tensors, extra_files=None, shard_bytes=DEFAULT_SHARD_BYTES):
    """Write config.json, safetensors (sharded above shard_bytes) and extra files; atomic.

    extra_files: {file name: str or bytes} (tokenizer files). An existing folder is
    replaced only after the new one is complete.
    """
    from safetensors.numpy import save_file

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        arrays = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
        shards, current, size = [], {}, 0
        for name in sorted(arrays):
            nbytes = arrays[name].nbytes
            if current and size + nbytes > shard_bytes:
                shards.append(current)
                current, size = {}, 0
            current[name] = arrays[name]
            size += nbytes
        shards.append(current)
        metadata = {"format": "np"}
        if len(shards) == 1:
            save_file(shards[0], str(tmp / WEIGHTS_FILE), metadata=metadata)
        else:
            weight_map = {}
            for i, shard in enumerate(shards, start=1):
                name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
                save_file(shard, str(tmp / name), metadata=metadata)
                weight_map.update(dict.fromkeys(shard, name))
            index = {"metadata": {"total_size": int(sum(a.nbytes for a in arrays.values()))}, "weight_map": weight_map}
            (tmp / INDEX_FILE).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for name, content in (extra_files or {}).items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(tmp / name, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
                handle.write(content)
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_folder(new, target):
    """Move a finished folder `new` to `target`, replacing an old one only at the very end."""
    new, target = Path(new), Path(target)
    os.chmod(new, 0o755)
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)
