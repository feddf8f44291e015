"""Recipe: quantize a causal LM to int8 and int4 with Keras 3 and measure what it costs.

The model is a trained zoo causal LM: `--model` names its .keras file (from
`zoo pretrain-clm`, trained on the same corpus folder), or the recipe first
pretrains `--preset` for `--steps` steps on the corpus (the built-in one by
default). Then, for each mode, it loads the float32 model, calls
`model.quantize(mode)` (Dense, EinsumDense and Embedding layers: attention and
feed-forward projections and the tied token table), saves it, loads the file
back and measures perplexity on held-out windows, file size (raw and gzip) and
CPU latency of one batch.

Run:
    zoo quantize-llm                      # or: python recipes/quantize_llm.py
    zoo quantize-llm --model runs/pretrain-clm-<stamp>/model.keras --modes int8
"""

import argparse
import math
import os
import sys

DEFAULT_DATA = os.path.join("data", "corpus-builtin")


def add_lm_args(parser, preset="small", steps=300, batch_size=16, seq_len=64, learning_rate=3e-3):
    """Options shared by the LLM compression recipes: corpus, model to start from, its training."""
    group = parser.add_argument_group("corpus and model")
    group.add_argument("--data", default=DEFAULT_DATA,
                       help=f"corpus folder from `zoo data prepare` (default: {DEFAULT_DATA}, prepared on first use)")
    group.add_argument("--model", default=None,
                       help="a trained zoo causal LM (.keras) on this corpus's tokenizer (default: train one first)")
    group.add_argument("--preset", default=preset, help=f"preset to train when no --model is given (default: {preset})")
    group.add_argument("--steps", type=int, default=steps, help=f"training steps of that model (default: {steps})")
    group.add_argument("--batch-size", type=int, default=batch_size, help=f"sequences per step (default: {batch_size})")
    group.add_argument("--seq-len", type=int, default=seq_len, help=f"tokens per window (default: {seq_len})")
    group.add_argument("--learning-rate", type=float, default=learning_rate,
                       help=f"AdamW learning rate (default: {learning_rate})")
    group.add_argument("--eval-windows", type=int, default=128,
                       help="held-out windows for perplexity (default: 128; 0 = all)")
    return parser


def check_lm_args(args):
    for name in ("steps", "batch_size", "seq_len"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if args.seq_len < 2:
        raise SystemExit("--seq-len must be at least 2.")
    if args.learning_rate <= 0:
        raise SystemExit(f"--learning-rate must be > 0, got {args.learning_rate}.")
    if args.eval_windows < 0:
        raise SystemExit(f"--eval-windows must be >= 0, got {args.eval_windows}.")
    if args.model is not None and not os.path.isfile(args.model):
        raise SystemExit(f"--model {args.model}: no such file; give the model.keras of a pretrain-clm run.")


def corpus_windows(data, seq_len, batch_size=16, validation_fraction=0.1, seed=0, eval_windows=0):
    """((train_x, train_y), (val_x, val_y), tokenizer): next-token windows of a corpus folder, split by document.

    The default folder is prepared from the built-in corpus on first use.
    """
    from recipes.pretrain_clm import clm_splits, ensure_corpus, training_windows

    folder = ensure_corpus(data)
    train_ds, val_ds, tokenizer = clm_splits(folder, seq_len, batch_size, validation_fraction, seed)
    train = training_windows(train_ds)
    val = training_windows(val_ds)
    if eval_windows:
        val = (val[0][:eval_windows], val[1][:eval_windows])
    return train, val, tokenizer


def lm_config(preset, vocab_size, seq_len, **overrides):
    """A preset's LLMConfig sized to the tokenizer and the window length."""
    from zoo.llm.models.factory import resolve_config

    base = resolve_config(preset)
    try:
        return base.replace(vocab_size=int(vocab_size), max_length=max(base.max_length, seq_len), **overrides)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def train_lm(config, train, steps, batch_size=16, learning_rate=3e-3, seed=0, verbose=1, callbacks=()):
    """Build a causal LM from `config` and train it for `steps` steps on (x, y) windows; (model, history)."""
    from zoo.llm import build_llm

    model = build_llm("causal", config=config, learning_rate=learning_rate)
    history = fit_steps(model, train, steps, batch_size, seed, verbose, callbacks)
    return model, history


def fit_steps(model, train, steps, batch_size=16, seed=0, verbose=1, callbacks=()):
    """fit() a compiled model (or Distiller) for `steps` shuffled batches of (x, y) windows, as one epoch."""
    import warnings

    from recipes.pretrain_clm import training_stream

    # The stream is endless and shuffled by its own seed; Keras' note about shuffle=True is noise here.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    stream = training_stream(train[0], train[1], batch_size, seed)
    return model.fit(stream, steps_per_epoch=steps, epochs=1, verbose=verbose, callbacks=list(callbacks))


def load_or_train(args, train, tokenizer, run=None):
    """The float32 model to compress: --model loaded, or --preset trained for --steps; (model, history or None)."""
    from zoo.llm import load_llm

    if args.model:
        model = load_llm(args.model)
        vocab = model.llm_config.vocab_size
        if vocab != tokenizer.vocabulary_size():
            raise SystemExit(f"--model {args.model} has vocab_size {vocab} but the tokenizer of {args.data} has "
                             f"{tokenizer.vocabulary_size()}: give a model trained on this corpus folder.")
        return model, None
    config = lm_config(args.preset, tokenizer.vocabulary_size(), args.seq_len)
    print(f"training the {args.preset} preset for {args.steps} steps (no --model given)")
    callbacks = run.callbacks() if run is not None else ()
    model, history = train_lm(config, train, args.steps, args.batch_size, args.learning_rate, args.seed,
                              args.verbose, callbacks)
    return model, history


def build_parser(prog=None):
    from zoo.runs import add_run_args

    parser = argparse.ArgumentParser(prog=prog, description="Quantize a causal LM to int8/int4 (Keras 3) and measure it.")
    add_lm_args(parser)
    parser.add_argument("--modes", nargs="+", default=["int8", "int4"], choices=("int8", "int4"),
                        help="quantization modes to try (default: int8 int4)")
    return add_run_args(parser)


def run_recipe(args):
    """Quantize and measure; returns the results dict (also in <run>/results.json)."""
    import keras
    import numpy as np

    from zoo.compress.keras_quantize import latency_ms, perplexity, quantize_llm_file, saved_sizes
    from zoo.llm import load_llm
    from zoo.runs import RunFolder, save_model_atomic

    check_lm_args(args)
    keras.utils.set_random_seed(args.seed)
    train, val, tokenizer = corpus_windows(args.data, args.seq_len, args.batch_size, seed=args.seed,
                                           eval_windows=args.eval_windows)
    run = RunFolder("quantize-llm", vars(args), root=args.runs_dir)
    model, history = load_or_train(args, train, tokenizer, run)
    float_path = save_model_atomic(model, run.file("model.keras"))
    probe = {"token_ids": val[0][:8], "padding_mask": np.ones_like(val[0][:8])}
    # Sizes without optimizer state: the quantized files carry none either.
    size, gz = saved_sizes(load_llm(float_path, compile=False))
    float_ppl = perplexity(model, *val)
    rows = [{"mode": "float32", "perplexity": float_ppl, "size_bytes": size, "gzip_bytes": gz,
             "latency_ms": latency_ms(model, probe)}]
    for mode in args.modes:
        result = quantize_llm_file(float_path, mode, run.file(f"model-{mode}.keras"), *val)
        quantized = load_llm(run.file(f"model-{mode}.keras"), compile=False)
        rows.append({"mode": mode, "perplexity": result["perplexity"], "size_bytes": result["size_bytes"],
                     "gzip_bytes": result["gzip_bytes"], "latency_ms": latency_ms(quantized, probe),
                     "roundtrip_max_abs_diff": result["roundtrip_max_abs_diff"],
                     "quantized_layers": result["quantized"], "kept_float": result["kept_float"]})
    for row in rows:
        row["size_ratio"] = rows[0]["size_bytes"] / row["size_bytes"]
        row["perplexity_ratio"] = row["perplexity"] / float_ppl
    results = {"params": int(model.count_params()), "eval_windows": int(len(val[0])), "seq_len": args.seq_len,
               "rows": rows}
    # model.keras is already the float model; the quantized ones sit beside it as model-<mode>.keras.
    results = run.finish(None, history, results, plot_title=f"quantize-llm ({args.preset})")
    print(f"{'mode':8} {'perplexity':>10} {'size':>12} {'x smaller':>9} {'latency ms':>10}")
    for row in rows:
        print(f"{row['mode']:8} {row['perplexity']:10.2f} {row['size_bytes']:12,} {row['size_ratio']:9.2f} "
              f"{row['latency_ms']:10.2f}")
    if not math.isfinite(float_ppl):
        print("note: the float model's perplexity is not finite; train it longer or lower --learning-rate")
    return results


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    run_recipe(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
