"""The reasoning experiment: train one small causal LM per solution format, decode, tabulate.

The same architecture, data, steps and seed are used for each format; only the
training targets differ (`zoo.reasoning.arithmetic`). Loss weights are 1 on what
the model must write and 0 on the prompt and on the calculator's inserted results.
Evaluation uses fresh problems in distribution (1..train_digits digits) and out of
distribution (train_digits+1..ood_digits digits: longer chains than any in training).

Example:
    >>> table = run_experiment(ExperimentOptions(steps=300))   # doctest: +SKIP
    >>> table["tool"]["ood_exact_match"]                        # doctest: +SKIP
"""

import dataclasses

from zoo.reasoning.arithmetic import make_problems
from zoo.reasoning.char_tokenizer import CharTokenizer
from zoo.reasoning.solving import (
    METHODS,
    TRAINED_FORMAT,
    encode_example,
    exact_match,
    mean_tokens,
    solve,
)


@dataclasses.dataclass
class ExperimentOptions:
    """Sizes of the experiment: data, model, training and decoding."""

    train_problems: int = 4000
    eval_problems: int = 100
    train_digits: int = 3
    ood_digits: int = 5
    steps: int = 400
    batch_size: int = 64
    learning_rate: float = 3e-3
    num_layers: int = 2
    hidden_dim: int = 64
    samples: int = 5
    temperature: float = 0.7
    methods: tuple = METHODS
    seed: int = 0
    verbose: int = 1


def model_config(tokenizer, options, max_length=128):
    """A tiny causal LM with rotary positions (no learned table of positions to run out of)."""
    from zoo.llm.config import LLMConfig

    return LLMConfig(
        vocab_size=tokenizer.vocabulary_size(),
        max_length=max_length,
        num_layers=options.num_layers,
        hidden_dim=options.hidden_dim,
        num_heads=4,
        intermediate_dim=4 * options.hidden_dim,
        position="rotary",
    )


def training_arrays(tokenizer, problems, kind, seq_len):
    from zoo.dialogue.sft import sft_arrays

    return sft_arrays([encode_example(tokenizer, p, kind) for p in problems], seq_len, tokenizer.pad_token_id)


def train_format(kind, options, tokenizer=None, callbacks=()):
    """(model, history, held-out loss before, after) of a model trained on `kind` targets."""
    import keras

    from zoo.dialogue.fitting import fit_for_steps
    from zoo.dialogue.sft import reply_loss
    from zoo.llm import build_llm

    tokenizer = tokenizer or CharTokenizer()
    config = model_config(tokenizer, options)
    train = make_problems(options.train_problems, 1, options.train_digits, seed=options.seed)
    held = make_problems(200, 1, options.train_digits, seed=options.seed + 1)
    seq_len = config.max_length - 1
    arrays, held_arrays = (
        training_arrays(tokenizer, train, kind, seq_len),
        training_arrays(tokenizer, held, kind, seq_len),
    )
    keras.utils.set_random_seed(options.seed)
    model = build_llm("causal", config=config, compile=False)
    loss_before = reply_loss(model, *held_arrays)
    model.compile(
        learning_rate=options.learning_rate,
        weight_decay=0.0,
        metrics=[],
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    history = fit_for_steps(
        model,
        arrays,
        options.steps,
        options.batch_size,
        options.seed,
        epochs=4,
        verbose=options.verbose,
        callbacks=callbacks,
    )
    return model, history, loss_before, reply_loss(model, *held_arrays)


def run_experiment(options=None, log=print, callbacks_for=None):
    """{method: {in/out-of-distribution exact match and tokens per answer}} and the trained models.

    `callbacks_for(kind)`, when given, returns the fit() callbacks of the model trained on `kind`
    targets (the recipe gives each its own TensorBoard logs).
    """
    options = options or ExperimentOptions()
    tokenizer = CharTokenizer()
    in_dist = make_problems(options.eval_problems, 1, options.train_digits, seed=options.seed + 2)
    out_dist = make_problems(options.eval_problems, options.train_digits + 1, options.ood_digits, seed=options.seed + 3)
    models, table = {}, {}
    for method in options.methods:
        kind = TRAINED_FORMAT[method]
        if kind not in models:
            log(f"training on {kind} targets for {options.steps} steps")
            callbacks = callbacks_for(kind) if callbacks_for else ()
            model, _, before, after = train_format(kind, options, tokenizer, callbacks)
            models[kind] = model
            log(f"  held-out loss per target token {before:.3f} -> {after:.3f}")
        row = {"trained_on": kind}
        for name, problems in (("in_distribution", in_dist), ("out_of_distribution", out_dist)):
            results = solve(
                models[kind],
                tokenizer,
                problems,
                method,
                samples=options.samples,
                temperature=options.temperature,
                seed=options.seed,
            )
            row[f"{name}_exact_match"] = exact_match(results, problems)
            row[f"{name}_tokens_per_answer"] = mean_tokens(results)
            row[f"{name}_example"] = {
                "prompt": problems[0].prompt,
                "output": results[0]["text"],
                "answer": problems[0].answer,
            }
        log(
            f"  {method}: exact match {row['in_distribution_exact_match']:.2f} in / "
            f"{row['out_of_distribution_exact_match']:.2f} out of distribution"
        )
        table[method] = row
    return table, models
