"""The pictures a language-model training run writes into its own folder (and TensorBoard's Images tab).

- attention.png: which keys each query sees under the run's attention kind and options, at its sequence length;
- memory.png: the training-memory estimate of its config, batch, sequence length and precision;
- block.png: the model as stacked boxes with the config names on them.

Example:
    >>> from zoo.llm.config import LLMConfig
    >>> draw_training_pictures(None, LLMConfig(), batch_size=2, seq_len=16)   # doctest: +SKIP
"""

from zoo.pictures.attention import draw_config_attention
from zoo.pictures.block_diagram import draw_transformer_block
from zoo.pictures.memory import draw_memory


def draw_training_pictures(run, config, batch_size, seq_len, precision="float32", kind="causal"):
    """Write attention.png, memory.png and block.png into `run` (a zoo.recipe Run), and both into its TensorBoard logs.

    Nothing with --no-pictures (`run.pictures` False); returns {picture: path}.
    """
    from zoo.llm.sizing.explain import memory_bytes

    if not getattr(run, "pictures", True):
        return {}
    attention = run.file("attention.png")
    draw_config_attention(config, attention, seq_len, causal=kind == "causal")
    memory = memory_bytes(config, kind, batch_size, seq_len, precision)
    chart = draw_memory(memory, run.file("memory.png"), title=f"batch {batch_size} x {seq_len} tokens, {precision}")
    block = run.file("block.png")
    draw_transformer_block(config, block, kind=kind)
    run.summaries.image("pictures/attention", attention)
    run.summaries.image("pictures/memory", chart)
    run.summaries.image("pictures/block", block)
    return {"attention": attention, "memory": chart, "block": block}
