"""Training techniques for `model.fit()`: schedules, AdamW, precision, accumulation, remat, callbacks.

Each idea lives in its own module, imported where it is used:

- `schedules`: linear warmup then cosine, linear or constant decay.
- `optimizer`: AdamW with decay on 2-D weights only and global-norm clipping.
- `accumulation`: gradient accumulation through the optimizer's `gradient_accumulation_steps`.
- `precision`: float32, mixed_bfloat16 or mixed_float16 (with loss scaling).
- `remat`: gradient checkpointing per transformer block.
- `memory_check`: fail early when a batch will not fit the memory you allow.
- `callbacks`: sample generations, throughput and learning rate during training.
- `checkpoints`: checkpoints every N steps and resume after a kill.
- `baseline`: the unigram baseline a language model must beat.

Example:
    >>> from zoo.train.schedules import WarmupDecay
    >>> round(float(WarmupDecay(1e-3, total_steps=100, warmup_steps=10)(4)), 6)
    0.0005
"""
