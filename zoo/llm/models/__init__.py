"""Whole models: backbones, task heads, the factory, presets and generation.

- `backbone`: token ids in, hidden states out: causal (GPT), encoder (BERT), seq2seq.
- `tasks`: heads on a backbone: CausalLM, MaskedLM, Seq2SeqLM, SequenceClassifier, QuestionAnswering.
- `factory`: `build_llm(kind, preset_or_config)` and `load_llm(path)`.
- `presets`: named configs (tiny, gpt2_small, bert_base, ...).
- `generation`: KV-cached decoding with greedy, top-k, top-p and beam samplers.
- `batches`: (x, y, sample_weight) batches for each task from token ids.

Example:
    >>> from zoo.llm.models.factory import build_llm
    >>> build_llm("causal", "tiny", num_layers=1, compile=False).count_params() > 0
    True
"""
