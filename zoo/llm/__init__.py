"""Transformer LLMs: GPT, BERT and the encoder-decoder Transformer, built from one config.

Read `gpt.py` first: the whole GPT in one file, proven (by a test) to compute the
same logits as `build_llm("causal", ...)`. The library copy is split by idea:

- `config`: LLMConfig, every architecture choice in one dataclass (plain Python).
- `layers/`: embeddings, the transformer block, reversible stacks.
- `attention/`: one module per attention kind (full, sliding_window, block_sparse,
  axial, lsh), each kind's options, and the registry that `LLMConfig.attention` names.
- `models/`: backbones, task heads, `build_llm`, presets, KV-cached generation, batches.
- `sizing/`: parameters, FLOPs and memory before building (`zoo explain`).
- `validation`: the token-id and length checks shared by layers and models.

Example:
    >>> from zoo.llm import build_llm, LLMConfig
    >>> model = build_llm("causal", "tiny")
    >>> len(model.generate([[1, 2, 3]], max_new_tokens=5)[0])
    5
"""

from zoo.llm.config import LLMConfig
from zoo.llm.models.factory import KINDS, TASKS, build_llm, load_llm
from zoo.llm.models.presets import PRESETS, get_preset, preset_names

__all__ = ["LLMConfig", "build_llm", "load_llm", "TASKS", "KINDS", "PRESETS", "get_preset", "preset_names"]
