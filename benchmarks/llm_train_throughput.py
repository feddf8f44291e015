"""Training throughput and MFU of zoo's causal LM, against keras-hub's GPT-2 of the same shape.

Prints one JSON object:
- `peak_matmul_flops`: the best float32 matmul FLOP/s measured in this process, before
  every configuration (the MFU denominator; other load on the machine lowers it);
- `train`: for each preset, sequence length and XLA on/off: tokens/s and MFU of
  `build_llm("causal", preset)` and of a keras-hub `GPT2Backbone` with a tied LM
  head of the same shape (same optimizer, loss, batch), and their ratio: the best
  round, and the median with its range over the interleaved rounds, where each
  round's MFU divides by a matmul peak measured in that round (`*_round_mfu_*`);
- `generation`: new tokens/s with and without the KV cache.

MFU = tokens/s x training FLOPs per token (from `zoo explain`: 3 x forward
matmul FLOPs at that sequence length) / peak matmul FLOP/s.

Example:
    $ python benchmarks/llm_train_throughput.py --quick      # a few minutes on 2 CPU cores (batch 8)
    $ python benchmarks/llm_train_throughput.py --rounds 2 --steps 1 --warmup 1 --gen-batch 1   # batch 32
    $ python benchmarks/llm_train_throughput.py --rounds 5 --presets small --xla on
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo.llm import build_llm, get_preset  # noqa: E402
from zoo.llm.models.generation import generate  # noqa: E402
from zoo.llm.sizing.explain import flops_per_token  # noqa: E402
from zoo.losses import TokenCrossentropy  # noqa: E402


def measure_peak_matmul(sizes=(1024, 2048), repeats=5):
    """Best float32 FLOP/s of square matmuls, compiled with and without XLA."""
    import tensorflow as tf

    best = 0.0
    for size in sizes:
        a = tf.random.normal((size, size))
        b = tf.random.normal((size, size))
        for jit in (False, True):
            fn = tf.function(lambda x, y: tf.linalg.matmul(x, y), jit_compile=jit)
            fn(a, b).numpy()
            for _ in range(repeats):
                start = time.perf_counter()
                fn(a, b).numpy()
                best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def keras_hub_gpt2(config):
    """keras-hub's GPT2Backbone with the same shape and a tied LM head, compiled like zoo's."""
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=config.vocab_size,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        hidden_dim=config.hidden_dim,
        intermediate_dim=config.intermediate_dim,
        dropout=config.dropout,
        max_sequence_length=config.max_length,
    )
    inputs = backbone.input
    logits = backbone.token_embedding(backbone(inputs), reverse=True)
    return keras.Model(inputs, logits)


def compile_like_zoo(model, jit_compile):
    # The loss of zoo's LLM tasks (compile(loss="auto")): Keras' sparse crossentropy from logits, computed faster.
    optimizer = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(
        optimizer=optimizer,
        loss=TokenCrossentropy(),
        metrics=None,
        jit_compile=jit_compile,
    )


def training_batch(config, batch_size, seq_len):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, config.vocab_size, (batch_size, seq_len + 1)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones((batch_size, seq_len), "int32")}
    return x, ids[:, 1:]


def best_tokens_per_second(models, x, y, rounds, steps, warmup, min_round_seconds):
    """Best tokens/s of each model over `rounds`, timing the models in turn.

    Alternating rounds and keeping the best one makes the ratio fair on a
    machine whose other load comes and goes; a round runs at least `steps`
    steps and at least `min_round_seconds`, so tiny models are not timed on one
    100 ms step.
    """
    steps_per_round = {}
    for name, model in models.items():
        for _ in range(warmup):  # the first call traces (and with XLA compiles) the step
            model.train_on_batch(x, y)
        start = time.perf_counter()
        model.train_on_batch(x, y)
        step_seconds = time.perf_counter() - start
        steps_per_round[name] = max(steps, int(np.ceil(min_round_seconds / max(step_seconds, 1e-6))))
    # Both models run the same number of steps per round: the larger estimate.
    count = max(steps_per_round.values())
    tokens = x["token_ids"].size * count
    best = dict.fromkeys(models, 0.0)
    per_round = {name: [] for name in [*models, "peak"]}
    for _ in range(rounds):
        # The matmul peak of this round, measured between the models: load from other
        # processes then weighs on the peak as on the step it divides.
        per_round["peak"].append(measure_peak_matmul(sizes=(1024,), repeats=2))
        for name, model in models.items():
            start = time.perf_counter()
            for _ in range(count):
                model.train_on_batch(x, y)
            per_round[name].append(tokens / (time.perf_counter() - start))
            best[name] = max(best[name], per_round[name][-1])
    return best, count, per_round


def median_and_range(values, digits=3):
    return round(statistics.median(values), digits), [round(min(values), digits), round(max(values), digits)]


def bench_train(preset, seq_len, jit, args):
    config = get_preset(preset)
    flops = flops_per_token(config, "causal", seq_len=seq_len)["training"]
    row = {
        "preset": preset,
        "seq_len": seq_len,
        "batch_size": args.batch_size,
        "xla": jit,
        "train_flops_per_token": flops,
    }
    keras.utils.set_random_seed(0)
    models = {"zoo": build_llm("causal", preset, compile=False)}
    if not args.no_reference:
        models["keras_hub"] = keras_hub_gpt2(config)
    for model in models.values():
        compile_like_zoo(model, jit)
    x, y = training_batch(config, args.batch_size, seq_len)
    best, row["steps_per_round"], per_round = best_tokens_per_second(
        models, x, y, args.rounds, args.steps, args.warmup, args.min_round_seconds
    )
    for name, model in models.items():
        row[f"{name}_parameters"] = model.count_params()
        row[f"{name}_tokens_per_s"] = round(best[name], 1)
        # Median over rounds of tokens/s x FLOPs per token / that round's matmul peak, and its range.
        mfu = [t * flops / p for t, p in zip(per_round[name], per_round["peak"])]
        row[f"{name}_round_mfu_median"], row[f"{name}_round_mfu_range"] = median_and_range(mfu)
    if "keras_hub" in best:
        row["zoo_over_keras_hub"] = round(best["zoo"] / best["keras_hub"], 3)
        ratios = [z / k for z, k in zip(per_round["zoo"], per_round["keras_hub"])]
        row["zoo_over_keras_hub_median"], row["zoo_over_keras_hub_range"] = median_and_range(ratios)
    del models
    keras.backend.clear_session()
    return row


def bench_generation(args, xla):
    config = get_preset(args.gen_preset)
    model = build_llm("causal", args.gen_preset, compile=False)
    rng = np.random.default_rng(0)
    prompts = rng.integers(0, config.vocab_size, (args.gen_batch, args.prompt_len)).tolist()
    result = {
        "preset": args.gen_preset,
        "batch_size": args.gen_batch,
        "prompt_len": args.prompt_len,
        "new_tokens": args.new_tokens,
        "xla": xla,
        "uncached_means": "a full forward pass over the whole fixed-size token buffer at every step",
    }
    outputs = {}
    for use_cache in (True, False):
        kwargs = dict(max_new_tokens=args.new_tokens, use_cache=use_cache, jit_compile=xla)
        generate(model, prompts, **kwargs)  # trace/compile once
        start = time.perf_counter()
        outputs[use_cache] = generate(model, prompts, **kwargs)
        seconds = time.perf_counter() - start
        key = "cached" if use_cache else "uncached"
        result[f"{key}_tokens_per_s"] = round(args.gen_batch * args.new_tokens / seconds, 1)
    result["cached_over_uncached"] = round(result["cached_tokens_per_s"] / result["uncached_tokens_per_s"], 2)
    result["same_greedy_tokens"] = outputs[True] == outputs[False]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="batch 8, 2 rounds of 1 step, 1 warm-up, generation batch 1: a few minutes on 2 CPU cores",
    )
    parser.add_argument("--presets", default="tiny,small")
    parser.add_argument("--seq-lens", default="128,256")
    parser.add_argument("--batch-size", type=int, help="training batch (default 32; 8 with --quick)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per model (the best one counts)")
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed round")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing, XLA compile)")
    parser.add_argument("--min-round-seconds", type=float, default=2.0, help="a timed round lasts at least this long")
    parser.add_argument("--xla", default="off,on", help="'off', 'on' or 'off,on'")
    parser.add_argument("--no-reference", action="store_true", help="skip the keras-hub GPT2Backbone reference")
    parser.add_argument("--no-generation", action="store_true")
    parser.add_argument("--gen-preset", default="small")
    parser.add_argument("--gen-batch", type=int, default=4)
    parser.add_argument("--prompt-len", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--gen-xla", default="on,off", help="decode loop with XLA: 'on', 'off' or 'on,off'")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.warmup, args.min_round_seconds = 2, 1, 1, 1.0
        args.gen_batch = 1
        args.gen_xla = "on"
    if args.batch_size is None:
        args.batch_size = 8 if args.quick else 32

    started = time.perf_counter()
    # Other processes may share the CPU: measure the peak before every configuration
    # and divide by the best one seen, as throughput is the best round too.
    peaks = [measure_peak_matmul()]
    xla_modes = {"off": [False], "on": [True], "off,on": [False, True], "on,off": [True, False]}[args.xla]
    rows = []
    for preset in args.presets.split(","):
        for seq_len in (int(s) for s in args.seq_lens.split(",")):
            for jit in xla_modes:
                peaks.append(measure_peak_matmul())
                rows.append(bench_train(preset, seq_len, jit, args))
                print(f"# {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    peak = max(peaks)
    for row in rows:
        for name in ("zoo", "keras_hub"):
            if f"{name}_tokens_per_s" in row:
                row[f"{name}_mfu"] = round(row[f"{name}_tokens_per_s"] * row["train_flops_per_token"] / peak, 4)
    report = {
        "benchmark": "llm_train_throughput",
        "machine": {"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()},
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "rounds": args.rounds,
        "min_steps_per_round": args.steps,
        "min_round_seconds": args.min_round_seconds,
        "warmup": args.warmup,
        "peak_matmul_flops": round(peak),
        "peak_matmul_flops_range": [round(min(peaks)), round(peak)],
        "train": rows,
    }
    if not args.no_generation:
        modes = {"on": [True], "off": [False], "on,off": [True, False], "off,on": [False, True]}[args.gen_xla]
        report["generation"] = [bench_generation(args, xla) for xla in modes]
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
