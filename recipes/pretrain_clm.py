"""Recipe: pretrain a causal (GPT-style) language model on a corpus folder with model.fit.

The corpus folder comes from `zoo data prepare` (shards + tokenizer); with the
default --data and no such folder, the built-in corpus is prepared first. The
model is a zoo preset whose vocabulary is set to the tokenizer's. Training is an
endless stream of shuffled windows: one Keras "epoch" is --eval-every steps,
after which the validation loss and perplexity are measured, a few sample
generations are printed and the history row is written.

Every technique of the tutorial is an option:
    --accum-steps k        gradient accumulation (one update per k micro-batches)
    --precision P          float32, mixed_bfloat16 or mixed_float16 (loss scaling)
    --remat                gradient checkpointing per transformer block
    --decay/--warmup-steps linear warmup, then cosine/linear/constant decay
    --weight-decay         AdamW decay on 2-D weights only (--decay-embeddings to add tables)
    --clipnorm             global-norm gradient clipping
    --max-memory 2GiB      refuse a batch that the memory estimate says will not fit
    --checkpoint-every N   checkpoints (weights + optimizer); --resume RUN continues at that step

The whole run (data -> model -> fit -> report) is `zoo.train.pretraining.pretrain_causal_lm`,
which `zoo run` shares.

Run:
    zoo pretrain-clm                          # or: python recipes/pretrain_clm.py
    zoo pretrain-clm --steps 400 --accum-steps 4 --precision mixed_bfloat16 --remat
    zoo pretrain-clm --resume runs/pretrain-clm-20260101-120000
"""

import sys

from zoo.data.prompts import add_prompt_argument
from zoo.recipe import Recipe
from zoo.train.pretraining import TrainingOptions, add_training_args, pretrain_causal_lm

recipe = Recipe(
    "pretrain-clm",
    "Pretrain a causal language model with model.fit.",
    examples=[
        "zoo pretrain-clm --steps 20 --eval-every 10",
        "zoo pretrain-clm --steps 400 --accum-steps 4 --precision mixed_bfloat16 --remat",
        "zoo pretrain-clm --resume runs/pretrain-clm-20260101-120000",
    ],
)


@recipe.options
def add_options(parser):
    add_training_args(parser)
    add_prompt_argument(parser)


@recipe.body
def train(args, run, extra_callbacks=()):
    """Pretrain, validate and save; the results dict (also in <run>/results.json) with "model" and "tokenizer"."""
    from zoo.train.report import summary_lines

    results = pretrain_causal_lm(TrainingOptions.from_args(args), run, extra_callbacks, title=recipe.name)
    for line in summary_lines(results):
        print(line)
    return results


main = recipe.main

if __name__ == "__main__":
    sys.exit(main())
