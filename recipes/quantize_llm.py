"""Recipe: quantize a causal LM with Keras 3 (int8, int4, float8, GPTQ, AWQ) and measure what it costs.

The model is a trained zoo causal LM: `--from` names its run folder or .keras
file (from `zoo pretrain-clm` on the same corpus folder, or `zoo import` of a
GPT-2 or Llama-family checkpoint, whose own tokenizer then tokenizes the corpus),
or the recipe first pretrains `--preset` for `--steps` steps on the corpus (the
built-in one by default). Then, for each mode, it loads the float32 model, calls
`model.quantize(mode)` (Dense, EinsumDense and Embedding layers: attention and
feed-forward projections and the tied token table), saves it, loads the file
back and measures perplexity on held-out windows, file size (raw and gzip) and
CPU latency of one batch.

Modes (`zoo.compress.keras_quantize` explains each): int8 and int4 round each
weight to the nearest step; float8 is Keras' float8 training mode (the file
grows: it keeps the float kernel plus scales); gptq and awq are 4-bit and fit
the rounding to calibration data, here `--calibration-windows` training windows
of the corpus (GPTQ/AWQ files save but do not load again in Keras 3.15, so
those rows are measured on the model in memory).

Run:
    zoo compress quantize-llm              # or: python recipes/quantize_llm.py
    zoo compress quantize-llm --from runs/pretrain-clm-<stamp> --modes int8
    zoo compress quantize-llm --from runs/smollm --modes int8       # a `zoo import`ed checkpoint
    zoo compress quantize-llm --modes int4 gptq awq --calibration-windows 64
"""

import math
import sys

from zoo.compress.llm_source import add_lm_args
from zoo.recipe import Recipe

recipe = Recipe(
    "quantize-llm",
    "Quantize a causal LM (Keras 3: int8, int4, float8, GPTQ, AWQ) and measure it.",
    examples=[
        "zoo compress quantize-llm --steps 50",
        "zoo compress quantize-llm --from runs/pretrain-clm-<stamp> --modes int8",
        "zoo compress quantize-llm --from runs/smollm --modes int8",
        "zoo compress quantize-llm --modes int4 gptq awq",
    ],
    command="compress quantize-llm",
)


@recipe.options
def add_options(parser):
    from zoo.compress.keras_quantize import MODES

    add_lm_args(parser)
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["int8", "int4"],
        choices=MODES,
        help=f"quantization modes to try, of {' '.join(MODES)} (default: int8 int4)",
    )
    parser.add_argument(
        "--calibration-windows",
        type=int,
        default=128,
        help="training windows GPTQ/AWQ calibrate on (default: 128)",
    )


@recipe.body
def run_recipe(args, run):
    """Quantize and measure; returns the results dict (also in <run>/results.json)."""
    import numpy as np

    from zoo.compress.keras_quantize import latency_ms, perplexity, quantize_llm_file, saved_sizes
    from zoo.compress.llm_source import check_lm_source, load_or_train, source_tokenizer
    from zoo.data.corpus import corpus_windows
    from zoo.data.tokenizer import save_tokenizer
    from zoo.llm import load_llm
    from zoo.runs import save_model_atomic

    if args.calibration_windows < 1:
        from zoo.errors import UsageError

        raise UsageError(f"--calibration-windows must be at least 1, got {args.calibration_windows}.")
    # Data: held-out windows for perplexity, in the ids of --from's own tokenizer when it brings one
    # (an imported checkpoint); the float model from --from, or trained now.
    check_lm_source(args.model, args.seq_len)
    own, origin = source_tokenizer(args.model, args.data)
    train, val, tokenizer = corpus_windows(
        args.data, args.seq_len, args.batch_size, seed=args.seed, eval_windows=args.eval_windows, tokenizer=own
    )
    model, history = load_or_train(
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
        run.callbacks(),
        data=args.data,
        tokenizer_origin=origin,
    )
    float_path = save_model_atomic(model, run.file("model.keras"))
    save_tokenizer(tokenizer, run.file("tokenizer"))  # the run folder is a starting point itself (generate, export)
    probe = {"token_ids": val[0][:8], "padding_mask": np.ones_like(val[0][:8])}
    # Sizes without optimizer state: the quantized files carry none either.
    size, gz = saved_sizes(load_llm(float_path, compile=False))
    float_ppl = perplexity(model, *val)
    rows = [
        {
            "mode": "float32",
            "perplexity": float_ppl,
            "size_bytes": size,
            "gzip_bytes": gz,
            "latency_ms": latency_ms(model, probe),
        }
    ]
    calibration = train[0][: args.calibration_windows]
    for mode in args.modes:
        result = quantize_llm_file(float_path, mode, run.file(f"model-{mode}.keras"), *val, calibration=calibration)
        quantized = result.pop("model")
        rows.append(
            {
                "mode": mode,
                "perplexity": result["perplexity"],
                "size_bytes": result["size_bytes"],
                "gzip_bytes": result["gzip_bytes"],
                "latency_ms": latency_ms(quantized, probe),
                "roundtrip_max_abs_diff": result["roundtrip_max_abs_diff"],
                "quantized_layers": result["quantized"],
                "kept_float": result["kept_float"],
            }
        )
    for row in rows:
        row["size_ratio"] = rows[0]["size_bytes"] / row["size_bytes"]
        row["perplexity_ratio"] = row["perplexity"] / float_ppl
    results = {
        "params": int(model.count_params()),
        "eval_windows": int(len(val[0])),
        "seq_len": args.seq_len,
        "tokenizer": origin or "corpus",
        "rows": rows,
    }
    # model.keras is already the float model; the quantized ones sit beside it as model-<mode>.keras.
    results = run.finish(None, history, results, plot_title=f"quantize-llm ({args.preset})")
    print(f"{'mode':8} {'perplexity':>10} {'size':>12} {'x smaller':>9} {'latency ms':>10}")
    # float8 keeps the float32 kernel (it is a training mode): its file is larger, not smaller.
    for row in rows:
        print(
            f"{row['mode']:8} {row['perplexity']:10.2f} {row['size_bytes']:12,} {row['size_ratio']:9.2f} "
            f"{row['latency_ms']:10.2f}"
        )
    if not math.isfinite(float_ppl):
        print("note: the float model's perplexity is not finite; train it longer or lower --learning-rate")
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
