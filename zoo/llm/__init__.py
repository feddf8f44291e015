"""Transformer LLMs: config, presets, models, KV-cached generation and `zoo explain`.

Example:
    >>> from zoo.llm import build_llm, LLMConfig
    >>> model = build_llm("causal", "tiny")
    >>> model.generate([[1, 2, 3]], max_new_tokens=5)   # doctest: +SKIP
"""

from zoo.llm.config import LLMConfig
from zoo.llm.factory import KINDS, TASKS, build_llm, load_llm
from zoo.llm.presets import PRESETS, get_preset, preset_names

__all__ = ["LLMConfig", "build_llm", "load_llm", "TASKS", "KINDS", "PRESETS", "get_preset", "preset_names"]
