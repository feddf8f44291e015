"""Fine-tuning a pretrained LLM on labelled tasks: extractive QA, NLI and sentiment.

Each idea has its own module:

- `formats`: readers for the standard files (SQuAD JSON, GLUE/JGLUE-style TSV,
  JSONL, CSV) that name the file and line of any bad record.
- `features`: token ids for classification pairs, and SQuAD answer character
  spans mapped to token start/end (and back again for predictions).
- `metrics`: SQuAD exact match and F1 (character-level F1 for Japanese),
  accuracy and macro-F1.
- `pretrained`: load a pretraining run (or a .keras file and its tokenizer) and
  put a task head on its backbone; or build a tokenizer and a quickly pretrained
  encoder when there is no prior run.
- `training`: the shared fit() loop of the three `finetune-*` recipes.
- `datasets/`: small labelled sets written for this project, English and Japanese.

Example:
    >>> from zoo.finetune.metrics import squad_scores
    >>> squad_scores(["the Eiffel Tower"], [["Eiffel Tower"]])["exact_match"]
    1.0
"""
