"""`zoo import`: a checkpoint folder turned into a zoo run folder that every recipe's starting-model option reads.

The run folder is the one recipes write themselves:

    runs/import-<name>-<stamp>/
      model.keras          the zoo task model (zoo.llm.load_llm reads it)
      tokenizer/           tokenizer.json (zoo's metadata, kind "checkpoint") + checkpoint/ (the original files)
      config.json          the LLMConfig and the task kind (`zoo explain runs/import-.../config.json`)
      import.json          where it came from: folder, format, family

so `--pretrained runs/import-...` (fine-tuning), `--from runs/import-...` (`zoo compress lora`,
`quantize-llm`, `distill --task llm`: the corpus is tokenized with this tokenizer), `zoo export --run ...`
and `zoo generate runs/import-...` all start from it.

Example:
    $ zoo import ~/checkpoints/gpt2 --out runs/gpt2
    $ zoo generate runs/gpt2 "The cat sat" --max-length 30
"""

import datetime
import json
import shutil
import tempfile
from pathlib import Path

from zoo.checkpoints.errors import CheckpointError
from zoo.checkpoints.hf_folder import replace_folder

TOKENIZER_KIND = "checkpoint"
TOKENIZER_SUBFOLDER = "checkpoint"


def save_checkpoint_tokenizer(tokenizer, folder):
    """Write a checkpoint's tokenizer as zoo tokenizer folder: original-format files + zoo's metadata file."""
    from zoo.checkpoints.tokenizers import special_ids, tokenizer_files

    folder = Path(folder)
    files = folder / TOKENIZER_SUBFOLDER
    files.mkdir(parents=True, exist_ok=True)
    for name, content in tokenizer_files(tokenizer).items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(files / name, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
            handle.write(content)
    meta = {
        "kind": TOKENIZER_KIND,
        "folder": TOKENIZER_SUBFOLDER,
        "vocabulary_size": int(tokenizer.vocabulary_size()),
        "special_ids": special_ids(tokenizer),
        "class": type(tokenizer).__name__,
    }
    (folder / "tokenizer.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def load_checkpoint_tokenizer(folder, meta):
    """Read back what save_checkpoint_tokenizer wrote (called by zoo.data.tokenizer.load_tokenizer)."""
    from zoo.checkpoints.tokenizers import load_folder_tokenizer, special_ids

    tokenizer = load_folder_tokenizer(Path(folder) / meta.get("folder", TOKENIZER_SUBFOLDER))
    if tokenizer is None:
        raise FileNotFoundError(f"{folder}: the checkpoint tokenizer files are missing; run `zoo import` again")
    for name, value in (meta.get("special_ids") or {}).items():
        if value is not None and special_ids(tokenizer).get(name) != value:
            raise ValueError(
                f"{folder}: special id {name}={special_ids(tokenizer).get(name)} differs from the saved "
                f"{value}; the files do not match"
            )
    return tokenizer


def import_checkpoint(path, out=None, kind=None, root="runs", num_classes=None):
    """Load `path` with from_pretrained and write a run folder; returns its Path."""
    from zoo.checkpoints.from_pretrained import from_pretrained
    from zoo.checkpoints.save_pretrained import model_kind
    from zoo.runs import save_model_atomic

    model = from_pretrained(path, kind=kind, num_classes=num_classes, compile=False)
    source = Path(path)
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path(root) / f"import-{source.name or 'checkpoint'}-{stamp}"
    target = Path(out)
    if target.exists() and any(target.iterdir()):
        raise CheckpointError(f"{target} already exists and is not empty; pick another --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        save_model_atomic(model, str(tmp / "model.keras"))
        if model.tokenizer is not None:
            save_checkpoint_tokenizer(model.tokenizer, tmp / "tokenizer")
        config = {"kind": model_kind(model), **model.llm_config.get_config()}
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        info = {
            **model.checkpoint_source,
            "path": str(source.resolve()),
            "kind": model_kind(model),
            "parameters": int(model.count_params()),
        }
        (tmp / "import.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            target.rmdir()
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load_run_model(path):
    """A zoo model with its tokenizer attached, from a run folder, a .keras file or a checkpoint folder."""
    from zoo.data.tokenizer import load_tokenizer
    from zoo.llm import load_llm

    path = Path(path)
    if path.is_dir() and (path / "model.keras").is_file():
        model = load_llm(path / "model.keras", compile=False)
        if (path / "tokenizer" / "tokenizer.json").is_file():
            model.attach_tokenizer(load_tokenizer(path / "tokenizer"))
        return model
    if path.suffix == ".keras" and path.is_file():
        model = load_llm(path, compile=False)
        if (path.parent / "tokenizer" / "tokenizer.json").is_file():
            model.attach_tokenizer(load_tokenizer(path.parent / "tokenizer"))
        return model
    from zoo.checkpoints.from_pretrained import from_pretrained

    return from_pretrained(path, compile=False)
