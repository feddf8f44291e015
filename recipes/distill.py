"""Recipe: knowledge distillation, measured against the same student trained from scratch.

`--task cnn` (default): the tutorial CNN is the teacher (trained here, or
`--from` a trained CNN .keras); a CNN with about a tenth of its parameters is
the student. `--task llm`: a causal LM (`--preset`, tiny by default, trained
here for `--steps` = 800, or `--from`) teaches a smaller model (one block of
width 32 by default: `--student-layers`, `--student-width`) on the corpus, every token position matching the teacher's
softened next-token distribution.

Both students start from the same initial weights and train for the same
steps with the same optimizer; the distilled one adds the teacher's
temperature-softened outputs to its loss. Training uses Keras 3.15's own
`keras.distillation.Distiller` (`zoo.compress.distill.keras_distiller`);
`--distiller zoo` trains with zoo's `Distiller` instead, the worked example
whose `compute_loss` spells the same loss out. The distilled student is saved as model.keras.

Run:
    zoo compress distill                                   # or: python recipes/distill.py
    zoo compress distill --task cnn --epochs 10 --alpha 0.1 --temperature 4
    zoo compress distill --task llm --steps 800 --student-steps 300
    zoo compress distill --task llm --from runs/smollm    # an imported teacher, its own tokenizer
"""

import sys

from zoo.errors import UsageError
from zoo.recipe import Recipe

TEACHER_EPOCHS = 10
STUDENT_EPOCHS = 10


recipe = Recipe(
    "distill",
    "Distill a teacher into a smaller student; compare with scratch.",
    examples=[
        "zoo compress distill --task cnn --epochs 2",
        "zoo compress distill --task llm --student-steps 200",
    ],
    command="compress distill",
)


@recipe.options
def add_options(parser):
    from zoo.compress.llm_source import add_lm_args

    parser.add_argument(
        "--task", choices=("cnn", "llm"), default="cnn", help="which zoo model to distill (default: cnn)"
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.1,
        help="weight of the label loss; 1 - alpha goes to the teacher's (default: 0.1)",
    )
    parser.add_argument("--temperature", type=float, default=4.0, help="softening temperature T (default: 4)")
    parser.add_argument(
        "--distiller",
        choices=("keras", "zoo"),
        default="keras",
        help="keras: keras.distillation.Distiller; zoo: zoo's worked-example Distiller, same loss (default: keras)",
    )
    cnn = parser.add_argument_group("cnn")
    cnn.add_argument(
        "--teacher-epochs",
        type=int,
        default=TEACHER_EPOCHS,
        help=f"epochs to train the CNN teacher when no --from is given (default: {TEACHER_EPOCHS})",
    )
    cnn.add_argument("--epochs", type=int, default=STUDENT_EPOCHS, help=f"student epochs (default: {STUDENT_EPOCHS})")
    cnn.add_argument(
        "--student-filters", type=int, nargs=3, default=[8, 16, 16], help="student CNN filters (default: 8 16 16)"
    )
    cnn.add_argument("--student-dense", type=int, default=32, help="student CNN dense width (default: 32)")
    llm = parser.add_argument_group("llm (teacher options: --from/--preset/--steps)")
    llm.add_argument("--student-preset", default="tiny", help="student preset, sized to the tokenizer (default: tiny)")
    llm.add_argument("--student-layers", type=int, default=1, help="student transformer blocks (default: 1)")
    llm.add_argument(
        "--student-width", type=int, default=32, help="student hidden_dim; 2 heads, feed-forward 4x wide (default: 32)"
    )
    llm.add_argument("--student-steps", type=int, default=300, help="student training steps (default: 300)")
    # The teacher must beat the student: a tiny preset trained 800 steps does on the built-in
    # corpus, the small preset needs far more CPU steps than that.
    add_lm_args(parser, preset="tiny", steps=800)


def check_args(args):
    if not 0.0 <= args.alpha <= 1.0:
        raise UsageError(f"--alpha must lie in [0, 1], got {args.alpha}.")
    if not args.temperature > 0:
        raise UsageError(f"--temperature must be > 0, got {args.temperature}.")
    for name in ("teacher_epochs", "epochs", "student_steps", "student_dense", "student_layers", "student_width"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")


def distill_cnn(args, run=None, log=print):
    """Teacher CNN, distilled and scratch students on digits; results dict (models under "*_model")."""
    import keras
    import numpy as np

    from zoo.compress.distill import compare_with_scratch, student_cnn
    from zoo.data.digits import load_digits_28
    from zoo.vision.cnn import build_cnn

    (x_train, y_train), (x_test, y_test) = load_digits_28(seed=args.seed)

    def accuracy(model):
        return float((np.argmax(model.predict(x_test, verbose=0), axis=-1) == y_test).mean())

    if args.model:
        teacher = keras.saving.load_model(args.model)
    else:
        log(f"training the teacher CNN for {args.teacher_epochs} epochs")
        teacher = build_cnn()
        teacher.fit(x_train, y_train, epochs=args.teacher_epochs, batch_size=32, verbose=args.verbose)

    def fit(model, callbacks):
        return model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=args.verbose, callbacks=callbacks)

    log(
        f"training the student twice for {args.epochs} epochs: distilled (T={args.temperature}, alpha={args.alpha}), "
        "then from scratch"
    )
    result = compare_with_scratch(
        teacher,
        lambda: student_cnn(filters=tuple(args.student_filters), dense_units=args.student_dense, compile=False),
        fit,
        accuracy,
        lambda: {"optimizer": keras.optimizers.Adam(1e-3), "metrics": ["accuracy"]},
        alpha=args.alpha,
        temperature=args.temperature,
        from_logits=False,
        distill_callbacks=run.callbacks() if run is not None else (),
        engine=args.distiller,
    )
    return {
        "metric": "test_accuracy",
        "higher_is_better": True,
        "teacher": accuracy(teacher),
        "teacher_params": int(teacher.count_params()),
        "distiller": args.distiller,
        **result,
    }


def distill_llm(args, run=None, log=print):
    """Teacher LM, distilled and scratch student LMs on the corpus; results dict (metric: perplexity)."""
    import keras

    from zoo.compress.distill import compare_with_scratch
    from zoo.compress.keras_quantize import perplexity
    from zoo.compress.llm_source import fit_steps, lm_config, load_or_train, source_tokenizer
    from zoo.data.corpus import corpus_windows
    from zoo.llm import build_llm

    # A teacher from `zoo import` reads the corpus in its own tokenizer's ids, and so does the student.
    own, origin = source_tokenizer(args.model, args.data, log)
    train, val, tokenizer = corpus_windows(
        args.data, args.seq_len, args.batch_size, seed=args.seed, eval_windows=args.eval_windows, tokenizer=own
    )
    teacher, _ = load_or_train(
        args.model,
        train,
        tokenizer,
        args.preset,
        args.steps,
        args.batch_size,
        args.seq_len,
        args.learning_rate,
        args.seed,
        args.verbose,
        data=args.data,
        tokenizer_origin=origin,
    )
    # The teacher's vocabulary, not the tokenizer's: a checkpoint may embed spare rows, and the two
    # distributions must have one length.
    student_config = lm_config(
        args.student_preset,
        teacher.llm_config.vocab_size,
        args.seq_len,
        num_layers=args.student_layers,
        hidden_dim=args.student_width,
        num_heads=2,
        intermediate_dim=4 * args.student_width,
    )

    def evaluate(model):
        return perplexity(model, *val)

    log(
        f"training the {args.student_preset} student twice for {args.student_steps} steps: distilled "
        f"(T={args.temperature}, alpha={args.alpha}), then from scratch"
    )
    callbacks = run.callbacks() if run is not None else ()
    result = compare_with_scratch(
        teacher,
        lambda: build_llm("causal", config=student_config, compile=False),
        lambda model, cbs: fit_steps(model, train, args.student_steps, args.batch_size, args.seed, args.verbose, cbs),
        evaluate,
        lambda: {"optimizer": keras.optimizers.AdamW(args.learning_rate, weight_decay=0.01)},
        alpha=args.alpha,
        temperature=args.temperature,
        from_logits=True,
        distill_callbacks=callbacks,
        engine=args.distiller,
    )
    return {
        "metric": "val_perplexity",
        "higher_is_better": False,
        "teacher": evaluate(teacher),
        "teacher_params": int(teacher.count_params()),
        "tokenizer": origin or "corpus",
        "distiller": args.distiller,
        "tokenizer_object": tokenizer,
        **result,
    }


@recipe.body
def run_recipe(args, run):
    """Distill and compare; returns the results dict (also in <run>/results.json)."""
    import keras

    check_args(args)
    if args.task == "llm":
        from zoo.compress.llm_source import check_lm_source

        check_lm_source(args.model, args.seq_len)
    keras.utils.set_random_seed(args.seed)
    result = (distill_llm if args.task == "llm" else distill_cnn)(args, run)
    student = result.pop("distilled_model")
    result.pop("scratch_model")
    history = result.pop("distilled_history")
    result["scratch_history"] = {k: [float(v) for v in vs] for k, vs in result["scratch_history"].items()}
    tokenizer = result.pop("tokenizer_object", None)
    if tokenizer is not None:  # the LM student's run folder is a starting point itself (generate, export)
        from zoo.data.tokenizer import save_tokenizer

        save_tokenizer(tokenizer, run.file("tokenizer"))
    better = (result["distilled"] >= result["scratch"]) == result["higher_is_better"] or result["distilled"] == result[
        "scratch"
    ]
    result["distilled_beats_scratch"] = bool(better)
    results = run.finish(student, history, result, plot_title=f"distill ({args.task}): distilled student")
    print(
        f"{result['metric']}: teacher {result['teacher']:.4f} ({result['teacher_params']:,} params), "
        f"distilled student {result['distilled']:.4f}, scratch student {result['scratch']:.4f} "
        f"({result['student_params']:,} params)"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
