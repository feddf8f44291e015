"""The recipe runner: what every `zoo <recipe>` shares, so a recipe's own file is only its chapter.

A recipe declares itself with `Recipe(name, description, examples)`, adds its own
options with `@recipe.options` and writes its body with `@recipe.body`: a function
`body(args, run)` that reads top to bottom as data -> model -> fit -> report and
returns a results dict. The runner owns the rest:

- the shared options: --runs-dir, --seed, --verbose; for training recipes also
  --strategy (and its --cpu-devices, --tpu, --workers), --precision and --tensorboard,
  and the JAX route: --backend, --distribution, --mesh and the several-hosts options;
- the Keras backend, chosen before Keras is imported (`zoo.parallel.backend`);
- seeding (before any data is read), the tf.distribute strategy scope or, on JAX, the
  keras.distribution scope (`zoo.parallel.distribution`), the global-batch check, the
  Keras dtype policy of --precision;
- the run folder, made on first use (so a refused option leaves nothing behind),
  whose callbacks write history.csv and TensorBoard logs in <run>/tensorboard on a
  global-step axis (`run.summaries`; --no-tensorboard turns them off);
- error exits: a user mistake (zoo.errors.UsageError, a strategy that cannot be
  made, a missing file, a loss that became NaN, an input nested too deeply to parse)
  prints one line and exits with status 2, never a traceback; a fault of the machine
  (zoo.errors.EnvironmentFault: a full disk, a read-only folder) prints one line and
  exits with status 1;
- the closing summary line and `main(argv, prog)`.

Example:
    >>> recipe = Recipe("hello", "Say hello.", examples=["zoo hello --seed 1"], training=False)
    >>> @recipe.body
    ... def body(args, run):
    ...     return {"seed": args.seed}
    >>> recipe.run(["--seed", "3"], run_folder=False)["seed"]
    3
"""

import argparse
import sys
import time

from zoo.errors import EnvironmentFault, UsageError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # those of zoo.train.precision (no Keras for --help)


class UsageExit(SystemExit):
    """Exit status 2 with a one-line reason (already printed to stderr); `str()` is the reason."""

    def __init__(self, message):
        super().__init__(2)
        self.message = message

    def __str__(self):
        return self.message


class FaultExit(UsageExit):
    """Exit status 1 with a one-line reason (already printed to stderr): the machine, not the options."""

    def __init__(self, message):
        super().__init__(message)
        self.code = 1


def usage_exit(prog, message, exit_class=UsageExit):
    """Print `prog: error: message` to stderr and return the UsageExit (or `exit_class`) to raise."""
    # One line, even for a message that explains itself over several.
    message = " ".join(line.strip() for line in str(message).strip().splitlines()) or "invalid usage"
    print(f"{prog}: error: {message}", file=sys.stderr)
    return exit_class(message)


def examples_epilog(examples):
    """The "examples:" block that ends every --help."""
    return "examples:\n" + "\n".join(f"  {line}" for line in examples)


def add_training_options(parser):
    """--precision, --tensorboard, --pictures, the strategy options and the JAX route's options of a training recipe."""
    from zoo.parallel.distribution import add_distribution_args
    from zoo.train.strategy import add_strategy_args

    group = parser.add_argument_group("training")
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="Keras dtype policy: float32, mixed_bfloat16 or mixed_float16 with loss scaling (default: float32)",
    )
    group.add_argument(
        "--tensorboard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write TensorBoard logs to <run>/tensorboard (default: on)",
    )
    group.add_argument(
        "--pictures",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw the run's pictures, e.g. a pretraining run's attention.png and memory.png (default: on)",
    )
    add_strategy_args(parser)
    add_distribution_args(parser.add_argument_group("backend and keras.distribution (JAX)"))
    return parser


class Run:
    """The run folder of one recipe run, made on first use; `note()` adds to its config.json before that."""

    def __init__(self, name, config, root, tensorboard=True, pictures=True):
        self.name = name
        self.config = dict(config)
        self.root = root
        self.tensorboard = tensorboard
        self.pictures = pictures  # zoo.pictures.run_pictures draws into the folder only when True
        self._folder = None
        self._summaries = None

    def note(self, **config):
        """Record more settings in config.json (only before the folder is made)."""
        if self._folder is not None:
            raise RuntimeError("the run folder is already written; note() its settings before using it")
        self.config.update(config)

    @property
    def folder(self):
        if self._folder is None:
            from zoo.runs import RunFolder

            self._folder = RunFolder(self.name, self.config, root=self.root)
        return self._folder

    @property
    def made(self):
        return self._folder is not None

    @property
    def path(self):
        return self.folder.path

    def file(self, name):
        return self.folder.file(name)

    @property
    def summaries(self):
        """The run's TensorBoard writers and global step (zoo.train.tensorboard.RunSummaries), made on first use.

        With --no-tensorboard it still counts steps (plot.png's x axis) but writes nothing.
        """
        if self._summaries is None:
            from zoo.train.tensorboard import RunSummaries

            self._summaries = RunSummaries(self.file("tensorboard") if self.tensorboard else None)
        return self._summaries

    def callbacks(self, history_name="history.csv", divergence_guard=True):
        """A stop at the first NaN loss, history.csv (appended every epoch) and TensorBoard scalars on the run's
        global-step axis."""
        from zoo.train.tensorboard import StepScalars

        callbacks = self.folder.callbacks(history_name, divergence_guard=divergence_guard)
        return [*callbacks, StepScalars(self.summaries)]

    def save_model(self, model, name="model.keras"):
        return self.folder.save_model(model, name)

    def save_results(self, results, name="results.json"):
        return self.folder.save_results(results, name)

    def finish(self, model, history, results, plot_title=None):
        steps = None if self._summaries is None else self._summaries.epoch_steps
        results = self.folder.finish(model, history, results, plot_title=plot_title, steps=steps)
        if self._summaries is not None:
            self._summaries.close()
        return results


class Recipe:
    """One `zoo <command>` (by default `zoo <name>`): its options, its body, and the shared run machinery."""

    def __init__(self, name, description, examples, training=True, command=None):
        self.name = name  # also the run folder's prefix: runs/<name>-<timestamp>/
        self.command = command or name  # the words after `zoo`, e.g. "compress lora"
        self.description = description
        self.examples = list(examples)
        self.training = training
        self._add_options = None
        self._body = None

    def options(self, add_options):
        """Decorator: `add_options(parser)` adds the recipe's own options."""
        self._add_options = add_options
        return add_options

    def body(self, body):
        """Decorator: `body(args, run, **kwargs)` does the work and returns the results dict."""
        self._body = body
        return body

    def build_parser(self, prog=None):
        from zoo.runs import add_run_args

        parser = argparse.ArgumentParser(
            prog=prog or f"zoo {self.command}",
            description=self.description,
            epilog=examples_epilog(self.examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if self._add_options is not None:
            self._add_options(parser)
        if self.training:
            add_training_options(parser)
        return add_run_args(parser)

    def run(self, argv=None, prog=None, run_folder=True, **kwargs):
        """Parse `argv`, then seed, enter the strategy and precision scopes and call the body; its results.

        A user mistake raises UsageExit (status 2) after printing one line; keyword arguments go to the body.
        """
        from zoo.parallel.backend import select_backend
        from zoo.quiet import quiet_tensorflow

        prog = prog or f"zoo {self.command}"
        argv = list(sys.argv[1:] if argv is None else argv)
        args = self.build_parser(prog).parse_args(argv)
        try:
            # Before Keras is imported (a recipe started as a script has not imported it yet).
            select_backend(argv)
        except UsageError as err:
            raise usage_exit(prog, err) from None
        quiet_tensorflow()  # after parsing: --help and bad options never start TensorFlow
        try:
            return self.execute(args, run_folder=run_folder, **kwargs)
        except UsageExit:
            raise
        except EnvironmentFault as err:
            raise usage_exit(prog, err, FaultExit) from None
        except (UsageError, FileNotFoundError) as err:
            raise usage_exit(prog, err) from None
        except RecursionError:
            # json and friends recurse per nesting level: a hostile input file, not a bug to trace.
            raise usage_exit(
                prog, "an input is nested too deeply to read (RecursionError); check its structure"
            ) from None
        except OSError as err:
            # A writer that does not go through zoo.data.atomic_files (Keras' CSVLogger, a library's own file)
            # on a full disk or read-only folder: still one line naming the file, exit 1.
            from zoo.data.atomic_files import disk_fault

            fault = disk_fault(err, err.filename or "a file")
            if fault is None:
                raise
            raise usage_exit(prog, fault, FaultExit) from None
        except SystemExit as err:
            if isinstance(err.code, str):  # a library's own one-line refusal
                raise usage_exit(prog, err.code) from None
            raise

    def execute(self, args, run_folder=True, **kwargs):
        """Run the body on parsed `args` (the seed, scopes and run folder as in `run`)."""
        import contextlib

        import keras

        scopes = contextlib.ExitStack()
        on_jax = keras.backend.backend() == "jax"
        if self.training and on_jax:
            from zoo.parallel.hosts import initialize_hosts

            # Several hosts join before anything runs on a device (the seed included).
            initialize_hosts(args.coordinator, args.num_processes, args.process_id)
        # Seed first: tf.random.set_seed later would drop ops a data pipeline has already traced.
        keras.utils.set_random_seed(args.seed)
        with scopes:
            if self.training and on_jax:
                from zoo.parallel.distribution import enter_distribution

                args = enter_distribution(args, scopes)
            elif self.training:
                from zoo.parallel.distribution import refuse_on_tensorflow

                refuse_on_tensorflow(args)
                args = self._enter_strategy(args, scopes)
                from zoo.train.precision import precision_scope

                scopes.enter_context(precision_scope(args.precision))
            # Recipes without --tensorboard (no training options) still log when they train through run.callbacks().
            run = Run(
                self.name,
                vars(args),
                args.runs_dir,
                tensorboard=getattr(args, "tensorboard", True),
                pictures=getattr(args, "pictures", True),
            )
            started = time.perf_counter()
            results = self._body(args, run if run_folder else None, **kwargs)
            if run.made:
                print(
                    f"{self.name} done in {time.perf_counter() - started:.1f} s; results in {run.file('results.json')}"
                )
            return results

    def _enter_strategy(self, args, scopes):
        """Make the --strategy (once per process), check the global batch, enter its scope."""
        import tensorflow as tf

        from zoo.train.accumulation import check_global_batch
        from zoo.train.strategy import for_this_worker, strategy_from_args

        if tf.distribute.has_strategy():  # already inside a strategy (a recipe run from another's scope)
            return args
        try:
            strategy = strategy_from_args(args)
            batch_size = getattr(args, "batch_size", None)
            if batch_size is not None:
                check_global_batch(batch_size, strategy.num_replicas_in_sync)
        except ValueError as err:
            raise UsageError(str(err)) from None
        if strategy.num_replicas_in_sync > 1 and batch_size is not None:
            print(
                f"global batch {batch_size} = {strategy.num_replicas_in_sync} replicas x "
                f"{batch_size // strategy.num_replicas_in_sync}"
            )
        scopes.enter_context(strategy.scope())
        return for_this_worker(args, strategy)

    def main(self, argv=None, prog=None):
        """The command-line entry: run, and return the exit status 0."""
        self.run(argv, prog)
        return 0
