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

import argparse
import copy
import math
import sys

from zoo.train.strategy import add_strategy_args, distributed

LEARNING_RATES = (1e-4, 1e-2)
BATCH_SIZES = (8, 16, 32)
WEIGHT_DECAYS = (0.0, 0.01, 0.1)
WARMUP_FRACTIONS = (0.0, 0.05, 0.2)


def build_parser(prog=None):
    from recipes.pretrain_clm import add_training_args
    from zoo.runs import add_run_args

    parser = argparse.ArgumentParser(prog=prog, description="KerasTuner search for the small causal LM.")
    add_training_args(parser, steps=100, eval_every=100)
    search = parser.add_argument_group("search")
    search.add_argument("--trials", type=int, default=6, help="trials to run (default: 6)")
    search.add_argument("--tuner", choices=("random", "bayesian"), default="random",
                        help="random search or Bayesian optimization (default: random)")
    return add_run_args(parser)


class CausalLMHyperModel:
    """Builds and fits one trial; wrapped in a keras_tuner.HyperModel by `hypermodel()`."""

    def __init__(self, args, config, train_x, train_y, validation):
        self.args, self.config = args, config
        self.train_x, self.train_y, self.validation = train_x, train_y, validation

    def trial_args(self, hp):
        args = copy.copy(self.args)
        args.learning_rate = hp.Float("learning_rate", *LEARNING_RATES, sampling="log")
        args.batch_size = hp.Choice("batch_size", list(BATCH_SIZES))
        args.weight_decay = hp.Choice("weight_decay", list(WEIGHT_DECAYS))
        args.warmup_steps = int(round(hp.Choice("warmup_fraction", list(WARMUP_FRACTIONS)) * args.steps))
        args.min_learning_rate = None
        args.resume = None
        return args

    def build(self, hp):
        import keras

        from recipes.pretrain_clm import build_model

        keras.utils.set_random_seed(self.args.seed)  # every trial starts from the same weights
        return build_model(self.trial_args(hp), self.config, self.args.steps)

    def fit(self, hp, model, callbacks=(), **kwargs):
        from recipes.pretrain_clm import training_stream

        args = self.trial_args(hp)
        stream = training_stream(self.train_x, self.train_y, args.batch_size, args.seed)
        return model.fit(stream, steps_per_epoch=args.steps, epochs=1, validation_data=self.validation,
                         callbacks=list(callbacks), verbose=self.args.verbose)


def hypermodel(args, config, train_x, train_y, validation):
    import keras_tuner

    inner = CausalLMHyperModel(args, config, train_x, train_y, validation)

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


@distributed
def train(args):
    """Run the search; returns the results dict (also in <run>/results.json)."""
    import keras_tuner

    from recipes.pretrain_clm import check_fits, clm_splits, ensure_corpus, model_config, start, training_windows
    from zoo.runs import RunFolder, atomic_write_json

    if args.trials < 1:
        raise SystemExit(f"--trials must be at least 1, got {args.trials}.")
    if args.resume:
        raise SystemExit("--resume continues a training run; a search starts its trials afresh.")
    start(args)
    folder = ensure_corpus(args.data)
    train_ds, val_ds, tokenizer = clm_splits(folder, args.seq_len, max(BATCH_SIZES), args.validation_fraction,
                                             args.seed)
    config = model_config(args, tokenizer.vocabulary_size())
    for batch_size in BATCH_SIZES:  # the largest candidate batch must fit the budget too
        check_fits(argparse.Namespace(**{**vars(args), "batch_size": batch_size}), config, None)
    train_x, train_y = training_windows(train_ds)
    val_x, val_y = training_windows(val_ds)
    validation = array_dataset(val_x, val_y, max(BATCH_SIZES))

    run = RunFolder("tune", {**vars(args), "llm_config": config.get_config()}, root=args.runs_dir)
    kinds = {"random": keras_tuner.RandomSearch, "bayesian": keras_tuner.BayesianOptimization}
    tuner = kinds[args.tuner](hypermodel(args, config, train_x, train_y, validation), objective="val_loss",
                              max_trials=args.trials, seed=args.seed, directory=run.path, project_name="tuner",
                              overwrite=True)
    print(f"searching {args.trials} trials of {args.steps} steps ({args.tuner} search)")
    tuner.search()
    trials = []
    for trial in tuner.oracle.get_best_trials(num_trials=args.trials):
        score = trial.score
        trials.append({"trial": trial.trial_id, "val_loss": None if score is None or not math.isfinite(score) else
                       float(score), "hyperparameters": dict(trial.hyperparameters.values)})
    if not trials or trials[0]["val_loss"] is None:
        raise SystemExit("No trial finished with a finite validation loss.")
    best = trials[0]
    atomic_write_json(run.file("trials.json"), trials)
    atomic_write_json(run.file("best_trial.json"), best)
    print(f"best trial {best['trial']}: validation loss {best['val_loss']:.4f} with {best['hyperparameters']}")
    return run.finish(None, None, {"best": best, "trials": len(trials)})


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
