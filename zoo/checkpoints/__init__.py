"""Real checkpoints in and out: keras-hub preset folders and Hugging Face folders, offline.

- `from_pretrained(path, kind=None)`: a zoo task model with the folder's tokenizer attached
  (zoo.checkpoints.from_pretrained).
- `save_pretrained(model, path, format="keras-hub" | "hf")`: write it back so keras-hub's
  `from_preset` (or the Hugging Face layout) reads the same logits (zoo.checkpoints.save_pretrained).

Layout of the package, one idea per file:
    errors.py           CheckpointError, the one-line error
    hf_folder.py        config.json + safetensors (sharded) read and written with numpy
    weight_map.py       Ports: zoo variable <-> Hugging Face tensors, checked before anything is assigned
    gpt2.py, bert.py, llama.py    one family each: config and tensor names, keras-hub backbones
    families.py         family lookup by model_type / keras-hub class
    tokenizers.py       the folder's tokenizer as a keras-hub tokenizer, with its own special ids

Example:
    >>> from zoo.checkpoints import from_pretrained, save_pretrained
    >>> model = from_pretrained("checkpoints/gpt2")                         # doctest: +SKIP
    >>> save_pretrained(model, "exported/gpt2-keras-hub", format="keras-hub")   # doctest: +SKIP
"""

from zoo.checkpoints.errors import CheckpointError
from zoo.checkpoints.from_pretrained import from_pretrained
from zoo.checkpoints.save_pretrained import save_pretrained

__all__ = ["CheckpointError", "from_pretrained", "save_pretrained"]
