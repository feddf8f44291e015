"""Recipe: reasoning modules (推論モジュール) on multi-digit arithmetic: direct vs scratchpad vs calculator tool.

The same tiny causal LM (character tokens, rotary positions) is trained three
times on generated addition and one-digit multiplication problems with operands of
1..--train-digits digits, each time with a different target:

- direct: `58+67=125`
- scratchpad (chain of thought): `58+67=8+7+0=15;5+6+1=12;>125`, decoded greedily and
  with self-consistency (--samples chains at --temperature, majority vote)
- tool: `58+67=[58+67]125`: the model writes the call, generation pauses at `]`, the
  runtime computes and inserts `125`, generation resumes

and each is scored by exact match on fresh problems in distribution and out of
distribution (up to --ood-digits digits: longer than anything seen in training),
with the tokens the model generated per answer.

Run:
    zoo reason                                           # or: python recipes/reason.py
    zoo reason --steps 1500 --eval-problems 200
"""

import sys

from zoo.recipe import Recipe

recipe = Recipe(
    "reason",
    "Arithmetic reasoning: direct answers vs scratchpad (+ self-consistency) vs a calculator "
    "tool, in and out of distribution.",
    examples=["zoo reason --steps 200 --eval-problems 50", "zoo reason --steps 1500 --samples 9"],
)


@recipe.options
def add_options(parser):
    from zoo.options import positive_float, positive_int

    METHODS = ("direct", "scratchpad", "self-consistency", "tool")  # zoo.reasoning.solving.METHODS (no TF for --help)

    group = parser.add_argument_group("reasoning experiment")
    group.add_argument("--steps", type=positive_int, default=300, help="training steps per format (default: 300)")
    group.add_argument("--batch-size", type=positive_int, default=64, help="problems per step (default: 64)")
    group.add_argument("--learning-rate", type=positive_float, default=3e-3, help="AdamW learning rate (default: 3e-3)")
    group.add_argument("--train-problems", type=positive_int, default=4000, help="training problems (default: 4000)")
    group.add_argument(
        "--eval-problems",
        type=positive_int,
        default=50,
        help="test problems in and out of distribution, each (default: 50)",
    )
    group.add_argument("--train-digits", type=positive_int, default=3, help="most digits in training (default: 3)")
    group.add_argument(
        "--ood-digits", type=positive_int, default=5, help="most digits out of distribution (default: 5)"
    )
    group.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=METHODS, help="methods to compare (default: all four)"
    )
    group.add_argument("--samples", type=positive_int, default=5, help="self-consistency chains (default: 5)")
    group.add_argument(
        "--temperature", type=positive_float, default=0.7, help="self-consistency sampling temperature (default: 0.7)"
    )


@recipe.body
def run_recipe(args, run):
    """Train one model per format, decode with each method, write the table to results.json."""
    from zoo.errors import UsageError
    from zoo.reasoning.experiment import ExperimentOptions, run_experiment

    if args.ood_digits <= args.train_digits or args.ood_digits > 8:
        raise UsageError("--ood-digits must be larger than --train-digits and at most 8 (the model's length).")
    options = ExperimentOptions(
        train_problems=args.train_problems,
        eval_problems=args.eval_problems,
        train_digits=args.train_digits,
        ood_digits=args.ood_digits,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        samples=args.samples,
        temperature=args.temperature,
        methods=tuple(args.methods),
        seed=args.seed,
        verbose=args.verbose,
    )
    summaries = {}

    def callbacks_for(kind):
        # One TensorBoard run per trained format (<run>/tensorboard/<kind>/train), so their curves overlay.
        from zoo.train.tensorboard import RunSummaries, StepScalars

        folder = run.file(f"tensorboard/{kind}") if args.tensorboard else None
        summaries[kind] = RunSummaries(folder)
        return [StepScalars(summaries[kind])]

    table, _ = run_experiment(options, callbacks_for=callbacks_for)
    for log in summaries.values():
        log.close()
    results = run.finish(None, None, {"table": table, "options": vars(options) | {"methods": list(options.methods)}})
    print(f"{'method':<18} {'EM in':>6} {'EM out':>7} {'tokens in':>10} {'tokens out':>11}")
    for method, row in table.items():
        print(
            f"{method:<18} {row['in_distribution_exact_match']:>6.2f} {row['out_of_distribution_exact_match']:>7.2f} "
            f"{row['in_distribution_tokens_per_answer']:>10.1f} {row['out_of_distribution_tokens_per_answer']:>11.1f}"
        )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
