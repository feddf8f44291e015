"""The building blocks every LLM here is stacked from.

- `embeddings`: token + position (+ segment) embeddings; the token table doubles
  as the output projection (tied embeddings).
- `blocks`: the residual transformer block (attention, optional cross-attention,
  feed-forward), pre- or post-LayerNorm, with a key/value cache for decoding.
- `reversible`: reversible residual stacks (Reformer): activation memory flat in depth.

Example:
    >>> import numpy as np
    >>> from zoo.llm.layers.blocks import TransformerBlock
    >>> tuple(TransformerBlock(8, 2, 16, causal=True)(np.zeros((1, 4, 8), "float32")).shape)
    (1, 4, 8)
"""
