"""Sizing an LLM before building it: parameters, FLOPs per token and training memory.

- `explain`: the exact parameter count by part, FLOPs per token, memory at a batch
  size, sequence length and precision, and the compute-optimal data size; also the
  `zoo explain` command. Plain arithmetic on an LLMConfig, no TensorFlow.

Example:
    >>> from zoo.llm.models.presets import get_preset
    >>> from zoo.llm.sizing.explain import count_parameters
    >>> count_parameters(get_preset("gpt2_small"), "causal")["total"]
    124439808
"""
