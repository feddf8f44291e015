"""Recipe: LoRA fine-tuning of a causal LM with Keras' enable_lora, against a full fine-tune.

The base model is a trained zoo causal LM (`--from`, or `--preset` trained here
for `--steps` on the training documents). The held-out documents are split in
two: the model is fine-tuned on the first half and evaluated on the second.
LoRA adds rank-`--rank` adapters to the attention and feed-forward projections
(`--targets`; Keras `Dense.enable_lora`, `Embedding.enable_lora` for the token
table) and trains only them; a full fine-tune of a copy of the same base with
the same steps is the reference. Saving merges the adapters into the kernels,
so model.keras is a plain zoo LLM of the base's size.

QLoRA: `--base-quantize int4` (or int8) quantizes the frozen base with Keras'
`model.quantize` before the adapters go on (`zoo.compress.lora.enable_lora`);
plain LoRA from the same base for the same steps then runs as the reference,
and the results give both the weight bytes in memory and the held-out
perplexity. model.keras is then the quantized model with the update merged.

Run:
    zoo compress lora                                      # or: python recipes/lora.py
    zoo compress lora --from runs/pretrain-clm-<stamp> --rank 4 --lora-steps 200
    zoo compress lora --from runs/smollm --seq-len 256     # a `zoo import`ed checkpoint: its own tokenizer
    zoo compress lora --base-quantize int4                 # QLoRA, measured against plain LoRA

The corpus is tokenized with the tokenizer of `--from` when it has its own (an
imported checkpoint); the run folder keeps that tokenizer beside model.keras.
"""

import argparse
import os
import shutil
import sys
import tempfile

from zoo.errors import UsageError
from zoo.recipe import Recipe

recipe = Recipe(
    "lora",
    "Fine-tune a causal LM with LoRA adapters (Keras enable_lora).",
    examples=[
        "zoo compress lora --rank 4 --lora-steps 50",
        "zoo compress lora --from runs/pretrain-clm-<stamp> --rank 8",
        "zoo compress lora --from runs/smollm --lora-steps 100",
        "zoo compress lora --base-quantize int4",
    ],
    command="compress lora",
)


@recipe.options
def add_options(parser):
    from zoo.compress.llm_source import add_lm_args

    add_lm_args(parser)
    lora = parser.add_argument_group("LoRA")
    lora.add_argument("--rank", type=int, default=8, help="adapter rank (default: 8)")
    lora.add_argument(
        "--alpha", type=float, default=None, help="update scale numerator: (alpha / rank) A B (default: rank)"
    )
    lora.add_argument(
        "--targets",
        nargs="+",
        default=["attention", "ffn"],
        choices=("attention", "ffn", "embedding"),
        help="layer groups that get adapters (default: attention ffn)",
    )
    lora.add_argument(
        "--base-quantize",
        choices=("int8", "int4"),
        default=None,
        help="QLoRA: quantize the frozen base first; plain LoRA runs as the reference (default: off)",
    )
    lora.add_argument("--lora-steps", type=int, default=100, help="fine-tuning steps (default: 100)")
    lora.add_argument(
        "--lora-learning-rate", type=float, default=2e-3, help="fine-tuning learning rate (default: 2e-3)"
    )
    lora.add_argument(
        "--compare-full",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fine-tune every weight of a copy for the same steps (default: on)",
    )


def split_halves(windows):
    """(fine-tune, evaluation) halves of held-out (x, y) windows, in order."""
    x, y = windows
    half = len(x) // 2
    if half < 1:
        raise UsageError(
            "Too few held-out windows to fine-tune on one half and evaluate on the other; "
            "use a shorter --seq-len or more text."
        )
    return (x[:half], y[:half]), (x[half:], y[half:])


def lora_finetune(args, run=None, log=print):
    """Base model, LoRA fine-tune (and full fine-tune); results dict with the LoRA model under "model"."""

    from zoo.compress.keras_quantize import perplexity
    from zoo.compress.llm_source import fit_steps, load_or_train, source_tokenizer
    from zoo.compress.lora import enable_lora, merged_model, weight_bytes
    from zoo.data.corpus import corpus_windows
    from zoo.llm import load_llm

    if args.lora_steps < 1 or args.lora_learning_rate <= 0:
        raise UsageError("--lora-steps must be at least 1 and --lora-learning-rate > 0.")
    # An imported checkpoint reads the corpus in its own tokenizer's ids.
    own, origin = source_tokenizer(args.model, args.data, log)
    train, val, tokenizer = corpus_windows(args.data, args.seq_len, args.batch_size, seed=args.seed, tokenizer=own)
    tune, held = split_halves(val)
    if args.eval_windows:
        held = (held[0][: args.eval_windows], held[1][: args.eval_windows])
    base, _ = load_or_train(
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
    base_ppl = perplexity(base, *held)
    folder = tempfile.mkdtemp(prefix="zoo-lora-base-")
    base_path = os.path.join(folder, "base.keras")
    base.save(base_path)

    def adapt(base_quantize):
        model = load_llm(base_path, compile=False)
        try:
            report = enable_lora(
                model, rank=args.rank, alpha=args.alpha, targets=tuple(args.targets), base_quantize=base_quantize
            )
        except ValueError as err:
            raise UsageError(str(err)) from None
        model.compile(learning_rate=args.lora_learning_rate, weight_decay=0.0)
        return model, report

    model, report = adapt(args.base_quantize)
    kind = f"QLoRA ({args.base_quantize} base)" if args.base_quantize else "LoRA"
    log(
        f"{kind} rank {args.rank} on {len(report['layers'])} layers: {report['trainable_params']:,} trainable of "
        f"{report['total_params']:,} ({100 * report['trainable_share']:.1f}%), {args.lora_steps} steps"
    )
    callbacks = run.callbacks() if run is not None else ()
    history = fit_steps(model, tune, args.lora_steps, args.batch_size, args.seed, args.verbose, callbacks)
    result = {
        "base_perplexity": base_ppl,
        "lora_perplexity": perplexity(model, *held),
        "base_quantize": args.base_quantize,
        "weight_bytes": report["weight_bytes"],
        "base_weight_bytes": weight_bytes(base),
        **{k: report[k] for k in ("rank", "alpha", "layers", "trainable_params", "total_params", "trainable_share")},
        "base_params": int(base.count_params()),
        "tune_windows": int(len(tune[0])),
        "eval_windows": int(len(held[0])),
        "tokenizer": origin or "corpus",
    }
    merged = merged_model(model)
    result["merged_params"] = int(merged.count_params())
    result["merged_perplexity"] = perplexity(merged, *held)
    if args.base_quantize:
        # The reference: plain LoRA on the float base, same adapters, data and steps.
        plain, plain_report = adapt(None)
        log(f"plain LoRA on the float32 base for {args.lora_steps} steps (the reference)")
        fit_steps(plain, tune, args.lora_steps, args.batch_size, args.seed, args.verbose)
        result["plain_lora_perplexity"] = perplexity(plain, *held)
        result["plain_lora_weight_bytes"] = plain_report["weight_bytes"]
    if args.compare_full:
        full = load_llm(base_path, compile=False)
        full.compile(learning_rate=args.lora_learning_rate, weight_decay=0.0)
        log(f"full fine-tune of every weight ({full.count_params():,}) for {args.lora_steps} steps")
        fit_steps(full, tune, args.lora_steps, args.batch_size, args.seed, args.verbose)
        result["full_finetune_perplexity"] = perplexity(full, *held)
    shutil.rmtree(folder, ignore_errors=True)
    return {**result, "model": model, "history": history, "tokenizer_object": tokenizer}


@recipe.body
def run_recipe(args, run):
    """Fine-tune with LoRA and save the merged model; returns the results dict (also in results.json)."""
    import keras

    from zoo.compress.llm_source import check_lm_source

    check_lm_source(args.model, args.seq_len)
    keras.utils.set_random_seed(args.seed)
    from zoo.data.tokenizer import save_tokenizer

    result = lora_finetune(args, run)
    model, history = result.pop("model"), result.pop("history")
    # The tokenizer beside the model makes the run folder a starting point itself (zoo generate, export, --from).
    save_tokenizer(result.pop("tokenizer_object"), run.file("tokenizer"))
    # Saving merges the adapters: model.keras is a plain zoo LLM of the base's size.
    results = run.finish(model, history, result, plot_title=f"LoRA rank {args.rank}")
    line = (
        f"held-out perplexity: base {result['base_perplexity']:.2f} -> LoRA {result['lora_perplexity']:.2f} "
        f"(merged {result['merged_perplexity']:.2f})"
    )
    if "full_finetune_perplexity" in result:
        line += f", full fine-tune {result['full_finetune_perplexity']:.2f}"
    print(line)
    if args.base_quantize:
        print(
            f"QLoRA ({args.base_quantize} base): {result['weight_bytes']:,} weight bytes, perplexity "
            f"{result['lora_perplexity']:.2f}; plain LoRA: {result['plain_lora_weight_bytes']:,} bytes, "
            f"perplexity {result['plain_lora_perplexity']:.2f}"
        )
    print(
        f"trainable parameters: {result['trainable_params']:,} of {result['total_params']:,} "
        f"({100 * result['trainable_share']:.2f}%)"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
