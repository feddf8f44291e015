"""Recipe: KerasTuner search over learning rate, batch size, weight decay and warmup for a causal LM.

Each trial builds the model from the same seed, trains --steps fit steps with
the warmup + cosine AdamW of `pretrain_clm` and is scored by its validation
loss. The tokens are read once and held as arrays, so every trial sees the
same data in the same seeded order. The best trial is printed and saved to
`<run>/best_trial.json`, every trial to `<run>/trials.json`.

Run:
    zoo tune                                   # or: python recipes/tune.py
    zoo tune --trials 12 --steps 200 --tuner bayesian
"""

import dataclasses
import math
import sys

from zoo.errors import UsageError
from zoo.recipe import Recipe
from zoo.train.pretraining import TrainingOptions, add_training_args

LEARNING_RATES = (1e-4, 1e-2)
BATCH_SIZES = (8, 16, 32)
WEIGHT_DECAYS = (0.0, 0.01, 0.1)
WARMUP_FRACTIONS = (0.0, 0.05, 0.2)


recipe = Recipe(
    "tune",
    "KerasTuner search for the small causal LM.",
    examples=[
        "zoo tune --trials 2 --steps 20",
        "zoo tune --trials 12 --steps 200 --tuner bayesian",
    ],
)


@recipe.options
def add_options(parser):
    add_training_args(parser, steps=100, eval_every=100)
    search = parser.add_argument_group("search")
    search.add_argument("--trials", type=int, default=6, help="trials to run (default: 6)")
    search.add_argument(
        "--tuner",
        choices=("random", "bayesian"),
        default="random",
        help="random search or Bayesian optimization (default: random)",
    )


class CausalLMHyperModel:
    """Builds and fits one trial; wrapped in a keras_tuner.HyperModel by `hypermodel()`."""

    def __init__(self, options, config, train_x, train_y, validation):
        self.options, self.config = options, config
        self.train_x, self.train_y, self.validation = train_x, train_y, validation

    def trial_args(self, hp):
        """The TrainingOptions of one trial: the searched values over the command line's."""
        return dataclasses.replace(
            self.options,
            learning_rate=hp.Float("learning_rate", *LEARNING_RATES, sampling="log"),
            batch_size=hp.Choice("batch_size", list(BATCH_SIZES)),
            weight_decay=hp.Choice("weight_decay", list(WEIGHT_DECAYS)),
            warmup_steps=int(round(hp.Choice("warmup_fraction", list(WARMUP_FRACTIONS)) * self.options.steps)),
            min_learning_rate=None,
            resume=None,
        )

    def build(self, hp):
        import keras

        from zoo.train.pretraining import build_model

        keras.utils.set_random_seed(self.options.seed)  # every trial starts from the same weights
        return build_model(self.trial_args(hp), self.config, self.options.steps)

    def fit(self, hp, model, callbacks=(), **kwargs):
        from zoo.data.corpus import training_stream

        args = self.trial_args(hp)
        stream = training_stream(self.train_x, self.train_y, args.batch_size, args.seed)
        return model.fit(
            stream,
            steps_per_epoch=args.steps,
            epochs=1,
            validation_data=self.validation,
            callbacks=list(callbacks),
            verbose=self.options.verbose,
        )


def hypermodel(options, config, train_x, train_y, validation):
    import keras_tuner

    inner = CausalLMHyperModel(options, config, train_x, train_y, validation)

    class HyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            return inner.build(hp)

        def fit(self, hp, model, *fit_args, **kwargs):
            return inner.fit(hp, model, callbacks=kwargs.get("callbacks", ()))

    return HyperModel()


def array_dataset(x, y, batch_size):
    """Validation batches from arrays (no tokenizer ops left in the graph, so seeds can be reset)."""
    import tensorflow as tf

    data = ({"token_ids": x, "padding_mask": (x * 0 + 1).astype("int32")}, y)
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


@recipe.body
def train(args, run):
    """Run the search; returns the results dict (also in <run>/results.json)."""
    import keras_tuner

    from zoo.data.corpus import clm_splits, ensure_corpus, training_windows
    from zoo.runs import atomic_write_json
    from zoo.train.pretraining import check_fits, model_config, read_resume_state

    # Data: windows read once and held as arrays, so every trial sees the same seeded order.
    if args.trials < 1:
        raise UsageError(f"--trials must be at least 1, got {args.trials}.")
    if args.resume:
        raise UsageError("--resume continues a training run; a search starts its trials afresh.")
    options = TrainingOptions.from_args(args)
    options.check()
    read_resume_state(options)
    folder = ensure_corpus(args.data)
    train_ds, val_ds, tokenizer = clm_splits(
        folder, args.seq_len, max(BATCH_SIZES), args.validation_fraction, args.seed
    )
    config = model_config(options, tokenizer.vocabulary_size())
    for batch_size in BATCH_SIZES:  # the largest candidate batch must fit the budget too
        check_fits(dataclasses.replace(options, batch_size=batch_size), config, None)
    train_x, train_y = training_windows(train_ds)
    val_x, val_y = training_windows(val_ds)
    validation = array_dataset(val_x, val_y, max(BATCH_SIZES))

    # Model and fit: one trial per hyperparameter draw, scored by its validation loss.
    run.note(llm_config=config.get_config())
    kinds = {"random": keras_tuner.RandomSearch, "bayesian": keras_tuner.BayesianOptimization}
    tuner = kinds[args.tuner](
        hypermodel(options, config, train_x, train_y, validation),
        objective="val_loss",
        max_trials=args.trials,
        seed=args.seed,
        directory=run.path,
        project_name="tuner",
        overwrite=True,
    )
    print(f"searching {args.trials} trials of {args.steps} steps ({args.tuner} search)")
    tuner.search()
    trials = []
    for trial in tuner.oracle.get_best_trials(num_trials=args.trials):
        score = trial.score
        trials.append(
            {
                "trial": trial.trial_id,
                "val_loss": None if score is None or not math.isfinite(score) else float(score),
                "hyperparameters": dict(trial.hyperparameters.values),
            }
        )
    if not trials or trials[0]["val_loss"] is None:
        raise UsageError("No trial finished with a finite validation loss.")
    # Report: every trial, the best first.
    best = trials[0]
    atomic_write_json(run.file("trials.json"), trials)
    # TensorBoard's HParams tab: one session per trial, its validation loss at the trial's last step.
    for trial in trials:
        metrics = {} if trial["val_loss"] is None else {"val_loss": trial["val_loss"]}
        run.summaries.hparams(trial["hyperparameters"], metrics, name=f"trial-{trial['trial']}", step=args.steps)
    atomic_write_json(run.file("best_trial.json"), best)
    print(f"best trial {best['trial']}: validation loss {best['val_loss']:.4f} with {best['hyperparameters']}")
    return run.finish(None, None, {"best": best, "trials": len(trials)})


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
