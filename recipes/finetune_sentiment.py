"""Recipe: fine-tune a pretrained LLM for sentiment (positive / negative) with model.fit.

The start is a `zoo pretrain-mlm` (or pretrain-clm) run given with --pretrained;
without one, a small masked LM is pretrained first for --pretrain-steps on the
built-in corpus plus the training texts, and --from-scratch skips pretraining
(the baseline that shows what it adds). A classifier head on the [CLS] token (or
the last token of a causal model) learns the labels; accuracy and macro-F1 on the
evaluation set are measured every epoch and reported next to the majority-class
baseline in <run>/results.json.

Data: CSV with a header `text,label`, a TSV with the same columns (GLUE SST-2's
`sentence\tlabel`), JSONL `{"text": ..., "label": ...}` or a JSON list. Labels
are names (--labels, default negative,positive) or their index (SST-2's 0/1).
Without --train/--eval, the shipped English or Japanese set (--language) is used.

Run:
    zoo finetune-sentiment                        # or: python recipes/finetune_sentiment.py
    zoo finetune-sentiment --language ja
    zoo finetune-sentiment --pretrained runs/pretrain-mlm-20260101-120000 --train my.csv --eval my_dev.csv
"""

import sys

from zoo.finetune.formats import SENTIMENT_LABELS
from zoo.finetune.options import FinetuneOptions, add_finetune_args
from zoo.recipe import Recipe

recipe = Recipe(
    "finetune-sentiment",
    "Fine-tune a pretrained LLM for sentiment with model.fit.",
    examples=[
        "zoo finetune-sentiment --epochs 2",
        "zoo finetune-sentiment --language ja",
        "zoo finetune-sentiment --pretrained runs/pretrain-mlm-20260101-120000 --train my.csv --eval my_dev.csv",
    ],
)


@recipe.options
def add_options(parser):
    add_finetune_args(parser, task="sentiment", seq_len=64, epochs=8, learning_rate=1e-3, labels=SENTIMENT_LABELS)


@recipe.body
def train(args, run):
    """Fine-tune and evaluate; returns the results dict (also in <run>/results.json)."""
    from zoo.finetune.classification import train_classifier

    return train_classifier(
        FinetuneOptions.from_args(args), run, task="sentiment", fields=("text",), default_labels=SENTIMENT_LABELS
    )


main = recipe.main

if __name__ == "__main__":
    sys.exit(main())
