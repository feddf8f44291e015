"""Recipe: preference tuning with Direct Preference Optimization (DPO) against a frozen reference.

After instruction tuning, a model is aligned on pairs of replies to the same
prompt, one chosen and one rejected. DPO (Rafailov et al. 2023) needs no reward
model and no RL: a copy of the starting model is frozen as the reference, and the
policy is trained with

    loss = -log sigmoid(beta * ((log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected))))

The report gives, on held-out pairs, how often the reference and the tuned policy
give the chosen reply the higher log-probability (preference accuracy) and the
mean implicit reward margin. The default data is zoo's synthetic preference set,
where the chosen reply is the computed right answer. Without --from, a fresh tiny
model is first instruction-tuned for --sft-steps on the synthetic instruction set.

Run:
    zoo dpo                                               # or: python recipes/dpo.py
    zoo dpo --from runs/sft-<stamp> --data pairs.jsonl --beta 0.1
    zoo chat runs/dpo-<stamp>
"""

import sys

from zoo.recipe import Recipe

recipe = Recipe(
    "dpo",
    "Align a chat model with DPO on chosen/rejected JSONL pairs (frozen reference model).",
    examples=["zoo dpo --steps 100 --beta 0.1", "zoo dpo --from runs/sft-<stamp> --data pairs.jsonl"],
)


@recipe.options
def add_options(parser):
    from zoo.dialogue.synthetic import PREFERENCES_FILE
    from zoo.options import positive_float, positive_int, sequence_length

    group = parser.add_argument_group("preference tuning")
    group.add_argument(
        "--from",
        dest="model",
        default=None,
        metavar="RUN",
        help="run folder of an instruction-tuned causal LM (zoo sft) (default: a fresh tiny model, "
        "instruction-tuned first)",
    )
    group.add_argument(
        "--data",
        default=PREFERENCES_FILE,
        help="preference JSONL: {prompt, chosen, rejected} per line (default: zoo's synthetic pairs)",
    )
    group.add_argument("--beta", type=positive_float, default=0.1, help="DPO's beta: KL strength (default: 0.1)")
    group.add_argument("--steps", type=positive_int, default=150, help="DPO steps (default: 150)")
    group.add_argument(
        "--sft-steps",
        type=positive_int,
        default=300,
        help="instruction-tuning steps when no --from is given (default: 300)",
    )
    group.add_argument("--batch-size", type=positive_int, default=16, help="pairs per step (default: 16)")
    group.add_argument("--seq-len", type=sequence_length, default=96, help="tokens per sequence (default: 96)")
    group.add_argument("--learning-rate", type=positive_float, default=5e-4, help="Adam learning rate (default: 5e-4)")
    group.add_argument("--held-out", type=float, default=0.1, help="share of pairs held out (default: 0.1)")


@recipe.body
def run_recipe(args, run):
    """Start from an SFT model, freeze a reference, train the policy with DPO, report and save."""
    import keras

    from zoo.data.tokenizer import save_tokenizer
    from zoo.dialogue.base_model import conversation_texts, start_model
    from zoo.dialogue.dpo import (
        DPOTrainer,
        encode_pairs,
        frozen_copy,
        mean_margin,
        pair_arrays,
        preference_accuracy,
    )
    from zoo.dialogue.fitting import fit_for_steps
    from zoo.dialogue.formats import read_instructions, read_preferences
    from zoo.dialogue.instruction_tuning import (
        SFTOptions,
        instruction_tune,
        split_held_out,
    )
    from zoo.dialogue.synthetic import INSTRUCTIONS_FILE
    from zoo.errors import UsageError

    if not 0 <= args.held_out < 1:
        raise UsageError("--held-out must be in [0, 1).")
    pairs = read_preferences(args.data)
    results = {}
    if args.model is None:
        conversations = read_instructions(INSTRUCTIONS_FILE)
        texts = conversation_texts(conversations) + [p["chosen"] for p in pairs] + [p["rejected"] for p in pairs]
        model, tokenizer, template = start_model(None, texts, args.seq_len, seed=args.seed)
        print(f"no --from: instruction-tuning a fresh tiny model for {args.sft_steps} steps first")
        sft = instruction_tune(
            model,
            tokenizer,
            template,
            conversations,
            SFTOptions(
                steps=args.sft_steps, seq_len=args.seq_len, seed=args.seed, eval_examples=0, verbose=args.verbose
            ),
        )
        model = sft.pop("model")
        sft.pop("history"), sft.pop("samples", None)
        results["sft"] = sft
    else:
        model, tokenizer, template = start_model(args.model, seq_len=args.seq_len)
    train, held = split_held_out(pairs, args.held_out)
    pad = getattr(tokenizer, "pad_token_id", None) or 0
    train_arrays = pair_arrays(encode_pairs(train, tokenizer, template), args.seq_len, pad)
    held_arrays = pair_arrays(encode_pairs(held or train, tokenizer, template), args.seq_len, pad)

    reference = frozen_copy(model)
    trainer = DPOTrainer(model, reference, beta=args.beta)
    trainer.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    results.update(
        pairs_train=len(train),
        pairs_held_out=len(held),
        reference_preference_accuracy=preference_accuracy(reference, held_arrays),
        reference_train_preference_accuracy=preference_accuracy(reference, train_arrays),
    )
    history = fit_for_steps(
        trainer,
        train_arrays,
        args.steps,
        args.batch_size,
        args.seed,
        epochs=min(5, args.steps),
        validation_data=held_arrays,
        verbose=args.verbose,
        callbacks=run.callbacks(),
    )
    results.update(
        policy_preference_accuracy=preference_accuracy(model, held_arrays),
        policy_train_preference_accuracy=preference_accuracy(model, train_arrays),
        held_out_reward_margin=mean_margin(trainer, held_arrays),
        train_reward_margin=mean_margin(trainer, train_arrays),
        beta=args.beta,
    )
    save_tokenizer(tokenizer, run.file("tokenizer"))
    template.save(run.path)
    out = run.finish(model, history, results, plot_title=f"DPO, beta {args.beta}")
    print(
        f"held-out preference accuracy: reference {results['reference_preference_accuracy']:.2f} -> "
        f"policy {results['policy_preference_accuracy']:.2f}; reward margin {results['held_out_reward_margin']:.3f}"
    )
    return out


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
