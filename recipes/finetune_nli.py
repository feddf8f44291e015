"""Recipe: fine-tune a pretrained LLM for natural language inference with model.fit.

Given a premise and a hypothesis, the model says whether the premise entails the
hypothesis, contradicts it, or neither (neutral). Both sentences go in one
sequence, `[CLS] premise [SEP] hypothesis [SEP]`, with segment ids 0 and 1 when
the backbone has segment embeddings; a classifier head on the [CLS] token (the
last token for a causal model) picks the label. Accuracy and macro-F1 on the
evaluation set are measured every epoch and reported next to the majority-class
baseline in <run>/results.json.

Start: --pretrained (a pretrain-mlm or pretrain-clm run folder or .keras file),
or a quick built-in masked-LM pretraining (--pretrain-steps), or --from-scratch.

Data: GLUE/MNLI-style TSV (`sentence1`, `sentence2`, `label` or `gold_label`
columns), JGLUE JNLI-style JSONL (`sentence1`, `sentence2`, `label`), CSV, or
`premise`/`hypothesis` columns; labels entailment/neutral/contradiction or their
index 0/1/2. Without --train/--eval, the shipped English or Japanese set.

Run:
    zoo finetune-nli                              # or: python recipes/finetune_nli.py
    zoo finetune-nli --language ja --epochs 12
    zoo finetune-nli --pretrained runs/pretrain-mlm-20260101-120000 --train train.tsv --eval dev_matched.tsv
"""

import sys

from zoo.finetune.formats import NLI_LABELS
from zoo.finetune.options import FinetuneOptions, add_finetune_args
from zoo.recipe import Recipe

recipe = Recipe(
    "finetune-nli",
    "Fine-tune a pretrained LLM for NLI with model.fit.",
    examples=[
        "zoo finetune-nli --epochs 2",
        "zoo finetune-nli --language ja --epochs 12",
        "zoo finetune-nli --pretrained runs/pretrain-mlm-20260101-120000 --train train.tsv --eval dev_matched.tsv",
    ],
)


@recipe.options
def add_options(parser):
    add_finetune_args(parser, task="nli", seq_len=64, epochs=12, learning_rate=1e-3, labels=NLI_LABELS)


@recipe.body
def train(args, run):
    """Fine-tune and evaluate; returns the results dict (also in <run>/results.json)."""
    from zoo.finetune.classification import train_classifier

    return train_classifier(
        FinetuneOptions.from_args(args), run, task="nli", fields=("premise", "hypothesis"), default_labels=NLI_LABELS
    )


main = recipe.main

if __name__ == "__main__":
    sys.exit(main())
