"""Recipe: instruction tuning (supervised fine-tuning, SFT) of a causal LM with a chat template.

Pretraining teaches a model to continue text; instruction tuning teaches it to
answer. Each conversation (Alpaca-style instruction/input/output or chat
"messages" JSONL) is laid out by the chat template, `<|user|>\\n...</s>\\n<|assistant|>\\n...</s>`,
and the loss counts only the assistant's tokens (sample weight 0 on the prompt).
The template is saved as chat_template.json beside model.keras, so `zoo chat`,
`zoo dpo --from` and `zoo export` prompt the model the same way.

The default data is zoo's small synthetic instruction set (made from the built-in
corpus; see zoo/dialogue/synthetic.py). Without --from a tiny model is built from
scratch: the run shows the mechanics, not a useful assistant.

Run:
    zoo sft                                               # or: python recipes/sft.py
    zoo sft --from runs/pretrain-clm-<stamp> --data my_instructions.jsonl --lora-rank 8
    zoo chat runs/sft-<stamp>
"""

import argparse
import sys

from zoo.recipe import Recipe

recipe = Recipe(
    "sft",
    "Instruction-tune a causal LM on chat/Alpaca JSONL; loss only on the assistant's tokens.",
    examples=[
        "zoo sft --steps 100",
        "zoo sft --from runs/pretrain-clm-<stamp> --data instructions.jsonl --pack --lora-rank 8",
    ],
)


@recipe.options
def add_options(parser):
    from zoo.dialogue.synthetic import INSTRUCTIONS_FILE
    from zoo.options import positive_float, positive_int, sequence_length

    group = parser.add_argument_group("instruction tuning")
    group.add_argument(
        "--from",
        dest="model",
        default=None,
        metavar="RUN",
        help="run folder of a causal LM (pretrain-clm, zoo import, sft) (default: a fresh tiny model)",
    )
    group.add_argument(
        "--data",
        default=INSTRUCTIONS_FILE,
        help="instruction JSONL: Alpaca (instruction/input/output) or chat (messages) records "
        "(default: zoo's synthetic set)",
    )
    group.add_argument("--steps", type=positive_int, default=300, help="training steps (default: 300)")
    group.add_argument("--batch-size", type=positive_int, default=16, help="conversations per step (default: 16)")
    group.add_argument("--seq-len", type=sequence_length, default=96, help="tokens per row (default: 96)")
    group.add_argument("--learning-rate", type=positive_float, default=2e-3, help="AdamW learning rate (default: 2e-3)")
    group.add_argument(
        "--pack",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="pack several conversations into each row (default: off)",
    )
    group.add_argument(
        "--lora-rank", type=int, default=0, help="train LoRA adapters of this rank (default: 0 = all weights)"
    )
    group.add_argument("--held-out", type=float, default=0.1, help="share of records held out (default: 0.1)")


@recipe.body
def run_recipe(args, run):
    """Read the data, start the model, fine-tune, save model + tokenizer + chat template."""
    from zoo.data.tokenizer import save_tokenizer
    from zoo.dialogue.base_model import conversation_texts, start_model
    from zoo.dialogue.formats import read_instructions
    from zoo.dialogue.instruction_tuning import SFTOptions, instruction_tune
    from zoo.errors import UsageError

    if args.lora_rank < 0 or not 0 <= args.held_out < 1:
        raise UsageError("--lora-rank must be >= 0 and --held-out in [0, 1).")
    conversations = read_instructions(args.data)
    model, tokenizer, template = start_model(
        args.model, conversation_texts(conversations), args.seq_len, seed=args.seed
    )
    options = SFTOptions(
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        learning_rate=args.learning_rate,
        pack=args.pack,
        lora_rank=args.lora_rank,
        held_fraction=args.held_out,
        seed=args.seed,
        verbose=args.verbose,
    )
    print(
        f"{len(conversations)} conversations from {args.data}; model: {args.model or 'fresh tiny'} "
        f"({model.count_params():,} parameters)"
    )
    report = instruction_tune(model, tokenizer, template, conversations, options, callbacks=run.callbacks())
    model, history = report.pop("model"), report.pop("history")
    save_tokenizer(tokenizer, run.file("tokenizer"))
    template.save(run.path)
    results = run.finish(model, history, report, plot_title="instruction tuning")
    if "held_out_loss_after" in report:
        print(f"held-out reply loss {report['held_out_loss_before']:.3f} -> {report['held_out_loss_after']:.3f}")
    if "exact_match_after" in report:
        print(f"held-out exact match {report['exact_match_before']:.2f} -> {report['exact_match_after']:.2f}")
        for sample in report["samples"]:
            print(f"  {sample['prompt']!r} -> {sample['reply']!r} (answer {sample['answer']!r})")
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
