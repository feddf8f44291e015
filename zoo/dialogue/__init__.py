"""Dialogue: turn a pretrained causal LM into a chat model (instruction tuning, then preference tuning).

Today's LLM training runs pretrain -> instruction-tune -> align. This package holds the
last two steps for a zoo causal LM (zoo-trained or imported with `zoo import`):

- `formats`: read instruction data (Alpaca-style instruction/input/output JSONL, or chat
  "messages" lists with roles) and preference pairs (prompt/chosen/rejected JSONL);
  a bad record names its file and line.
- `chat_template`: how a conversation becomes tokens (role headers, an end-of-turn token),
  stored with the model as chat_template.json and used by every later stage.
- `sft`: supervised fine-tuning batches whose loss weights are zero on prompt tokens,
  with optional packing.
- `dpo`: Direct Preference Optimization (Rafailov et al. 2023) as a keras.Model with its
  own train_step, a trainable policy against a frozen reference.
- `synthetic`: the small instruction and preference sets shipped in `datasets/`, written
  for this project from the built-in corpus (synthetic, not human-written).
- `instruction_tuning`: the SFT stage shared by `zoo sft` and `zoo dpo` (held-out reply loss and
  exact match before and after); `fitting`: fit() for a number of steps on in-memory arrays.
- `base_model`: the model and tokenizer a run starts from (a run folder, or a fresh tiny one).
- `replies`: batched greedy replies to conversations (for evaluation).
- `streaming`: token-by-token decoding with a KV cache; `chat_cli`: `zoo chat RUN`.

Example:
    >>> from zoo.dialogue.chat_template import ChatTemplate
    >>> ChatTemplate().render_text([{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    '<|user|>\\nHi</s>\\n<|assistant|>\\n'
"""
