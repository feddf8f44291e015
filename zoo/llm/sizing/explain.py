"""`zoo explain`: how big and how expensive is an LLM, before you build or train it.

Pure arithmetic on an LLMConfig (no TensorFlow): parameters by part, FLOPs per
token, training memory at a batch size, sequence length and precision, and the
compute-optimal data size of Hoffmann et al. 2022 (about 20 tokens per
parameter). The parameter counts are exact: tests compare them with built models.

Example:
    $ zoo explain gpt2_small --batch-size 8 --seq-len 1024 --precision mixed_bfloat16
    $ zoo explain my_config.json --task masked --json

    >>> from zoo.llm.models.presets import get_preset
    >>> count_parameters(get_preset("gpt2_small"), "causal")["total"]
    124439808
"""

import argparse
import json
import sys
from pathlib import Path

from zoo.llm.config import LLMConfig
from zoo.llm.models.presets import PRESETS, get_preset, preset_kind
from zoo.options import class_count, positive_int, sequence_length

KINDS = ("causal", "masked", "seq2seq", "classifier", "qa")
PARTS = ("embeddings", "attention", "ffn", "norms", "heads")
# Bytes per parameter (weights, gradients and each optimizer slot) and per activation value.
# Keras' mixed policies keep float32 variables and compute in 16 bits.
PRECISIONS = {
    "float32": (4, 4),
    "mixed_float16": (4, 2),
    "mixed_bfloat16": (4, 2),
    "float16": (2, 2),
    "bfloat16": (2, 2),
}
CHINCHILLA_TOKENS_PER_PARAM = 20
MLM_MASK_RATE = 0.15


def count_parameters(config, kind="causal", num_classes=2, backbone=None):
    """Exact parameter counts by part of the model `build_llm(kind, config=config)` builds.

    Example:
        >>> count_parameters(LLMConfig(vocab_size=100, hidden_dim=8, num_heads=2, num_layers=1,
        ...                            intermediate_dim=16, max_length=10))["total"]
        1496
    """
    _check_kind(kind)
    d, f, v = config.hidden_dim, config.intermediate_dim, config.vocab_size
    bias = 1 if config.use_bias else 0
    qkv_bias = bias if config.qkv_bias is None else int(config.qkv_bias)
    kv = config.key_value_heads * config.head_dim  # grouped-query attention: narrower keys and values
    attention = (d + 2 * kv) * (d + qkv_bias) + d * d + d * bias
    cross_attention = 3 * d * (d + qkv_bias) + d * d + d * bias
    gated = config.mlp == "gated"
    ffn = (3 if gated else 2) * d * f + ((2 if gated else 1) * f + d) * bias
    norm = d if config.norm_type == "rmsnorm" else 2 * d  # RMSNorm has a scale and no bias
    final_norm = norm if config.norm == "pre" else 0
    backbone = _backbone_kind(kind, backbone)

    parts = dict.fromkeys(PARTS, 0)
    parts["embeddings"] = v * d + (config.max_length * d if config.position == "learned" else 0)
    if backbone == "encoder":
        parts["embeddings"] += config.num_segments * d
    parts["norms"] = 2 * d if config.embedding_norm else 0
    if backbone == "seq2seq":
        parts["attention"] = (
            attention * (config.num_layers + config.decoder_layers) + cross_attention * config.decoder_layers
        )
        parts["ffn"] = ffn * (config.num_layers + config.decoder_layers)
        parts["norms"] += 2 * norm * config.num_layers + 3 * norm * config.decoder_layers + 2 * final_norm
    else:
        parts["attention"] = attention * config.num_layers
        parts["ffn"] = ffn * config.num_layers
        parts["norms"] += 2 * norm * config.num_layers + final_norm

    # Causal and seq2seq backbones own an untied output matrix (no bias) when embeddings are untied.
    untied_output = 0 if config.tie_embeddings or backbone == "encoder" else v * d
    pooler = d * d + d
    if kind == "masked":
        heads = d * d + d + 2 * d + v + (0 if config.tie_embeddings else d * v)
        if config.next_sentence_prediction:
            heads += pooler + 2 * d + 2
    elif kind == "classifier":
        heads = (pooler if backbone == "encoder" else 0) + d * num_classes + num_classes
    elif kind == "qa":
        heads = 2 * d + 2
    else:
        heads = 0
    parts["heads"] = heads + untied_output
    parts["total"] = sum(parts[p] for p in PARTS)
    return parts


def flops_per_token(config, kind="causal", seq_len=None, backbone=None):
    """Forward, training (3x forward) and KV-cached inference FLOPs per token.

    Counts matrix multiplies (2 FLOPs per multiply-add), which is what the
    hardware spends time on; attention scores use the full `seq_len` context as
    implemented (no causal skipping). A seq2seq token is one target token plus
    one source token. Masked LMs run the MLM head on 15% of the tokens.

    Example:
        >>> from zoo.llm.models.presets import get_preset
        >>> f = flops_per_token(get_preset("gpt2_small"), seq_len=1024)
        >>> f["training"] == 3 * f["forward"]
        True
    """
    _check_kind(kind)
    seq_len = config.max_length if seq_len is None else int(seq_len)
    d, f, v = config.hidden_dim, config.intermediate_dim, config.vocab_size
    backbone = _backbone_kind(kind, backbone)
    kv = config.key_value_heads * config.head_dim
    projections = 2 * (2 * d * d + 2 * d * kv)  # Q and output d x d; K and V d x kv (grouped-query)
    scores = 2 * 2 * seq_len * d  # QK^T and the weighted sum of V
    ffn = (3 if config.mlp == "gated" else 2) * 2 * d * f
    block = projections + scores + ffn
    if backbone == "seq2seq":
        projections = 2 * 4 * d * d  # cross-attention is plain multi-head attention
        # A decoder block adds cross-attention: Q and output projections, plus K/V of one source token.
        forward = block * config.num_layers + (block + projections + scores) * config.decoder_layers
    else:
        forward = block * config.num_layers
    head = 2 * d * v
    if kind == "masked":
        forward += MLM_MASK_RATE * (2 * d * d + head)
    elif kind in ("causal", "seq2seq"):
        forward += head
    forward = int(round(forward))
    return {
        "seq_len": seq_len,
        "forward": forward,
        "training": 3 * forward,  # backward = 2x forward (grads w.r.t. inputs and weights)
        "inference_with_kv_cache": forward,
    }


def memory_bytes(config, kind="causal", batch_size=8, seq_len=None, precision="float32", backbone=None, num_classes=2):
    """Training memory estimate in bytes: weights, gradients, AdamW state, activations.

    Activations follow Korthikanti et al. 2022 (no recomputation): per layer
    s*b*h*(34 + 5*a*s/h) bytes at 16 bits (attention 11sbh + 5as^2b, MLP 19sbh,
    norms 4sbh), doubled for float32; a decoder block with cross-attention adds
    another attention block and norm. Logits add b*s*vocab float32 values.
    An efficient attention kind replaces the s keys per query in 5as^2b by the
    keys it really scores (`attended_keys`); reversible stacks keep one layer's
    activations plus the two streams, whatever the depth.

    Example:
        >>> from zoo.llm.models.presets import get_preset
        >>> m = memory_bytes(get_preset("gpt2_small"), batch_size=1, seq_len=1024)
        >>> m["optimizer"] == 2 * m["weights"]
        True
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}. Choose one of: {', '.join(PRECISIONS)}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    seq_len = config.max_length if seq_len is None else int(seq_len)
    param_bytes, act_bytes = PRECISIONS[precision]
    n = count_parameters(config, kind, num_classes=num_classes, backbone=backbone)["total"]
    s, b, h, a = seq_len, batch_size, config.hidden_dim, config.num_heads
    scale = act_bytes / 2  # the formula is for 16-bit values
    backbone = _backbone_kind(kind, backbone)
    keys = attended_keys(config, s, causal=backbone == "causal")
    attention_block = 11 * s * b * h + 5 * a * s * s * b
    layer = (34 * s * b * h + 5 * a * s * keys * b) * scale
    # Reversible stacks recompute activations in backprop: one block's, plus the two streams.
    encoder_layers = 1 if config.reversible else config.num_layers
    reversible_streams = 2 * s * b * h * scale * 2 if config.reversible else 0
    if backbone == "seq2seq":
        # Decoder self-attention uses the kind; cross-attention is full (s keys).
        decoder_layer = layer + (attention_block + 2 * s * b * h) * scale
        activations = layer * encoder_layers + reversible_streams + decoder_layer * config.decoder_layers
    else:
        activations = layer * encoder_layers + reversible_streams
    if kind in ("causal", "seq2seq"):
        activations += b * s * config.vocab_size * 4
    elif kind == "masked":
        activations += b * s * MLM_MASK_RATE * config.vocab_size * 4
    memory = {
        "weights": n * param_bytes,
        "gradients": n * param_bytes,
        "optimizer": 2 * n * param_bytes,  # AdamW: first and second moments
        "activations": int(round(activations)),
    }
    memory["total"] = sum(memory.values())
    return memory


def attended_keys(config, seq_len, causal=True):
    """Keys each query scores under config.attention at length seq_len (seq_len for "full").

    Each kind's options know its pattern (`zoo.llm.attention.options`).

    Example:
        >>> from zoo.llm.config import LLMConfig
        >>> attended_keys(LLMConfig(attention="sliding_window", attention_options={"window": 256, "block_size": 64}), 8192)
        320
    """
    return config.attention_options.attended_keys(int(seq_len), causal=causal, max_length=config.max_length)


def explain(config, kind="causal", batch_size=8, seq_len=None, precision="float32", num_classes=2, backbone=None):
    """Everything `zoo explain` prints, as a dict.

    Example:
        >>> from zoo.llm.models.presets import get_preset
        >>> explain(get_preset("tiny"))["compute_optimal_tokens"] == 20 * explain(get_preset("tiny"))["parameters"]["total"]
        True
    """
    seq_len = config.max_length if seq_len is None else int(seq_len)
    if seq_len < 1:
        raise ValueError(f"seq_len must be positive, got {seq_len}.")
    if seq_len > config.max_length:
        raise ValueError(f"seq_len {seq_len} is longer than the model's max_length {config.max_length}.")
    params = count_parameters(config, kind, num_classes=num_classes, backbone=backbone)
    flops = flops_per_token(config, kind, seq_len, backbone=backbone)
    tokens = CHINCHILLA_TOKENS_PER_PARAM * params["total"]
    return {
        "kind": kind,
        "config": config.get_config(),
        "parameters": params,
        "flops_per_token": flops,
        "six_n_flops_per_token": 6 * params["total"],
        "memory_bytes": memory_bytes(config, kind, batch_size, seq_len, precision, backbone, num_classes),
        "batch_size": batch_size,
        "precision": precision,
        "compute_optimal_tokens": tokens,
        "compute_optimal_training_flops": flops["training"] * tokens,
    }


def format_report(name, report):
    """The human-readable table of an `explain()` dict."""
    params = report["parameters"]
    total = params["total"]
    flops = report["flops_per_token"]
    memory = report["memory_bytes"]
    lines = [f"{name} ({report['kind']}): {total:,} parameters ({_short(total)})", "", "parameters by part:"]
    for part in PARTS:
        share = 100.0 * params[part] / total if total else 0.0
        lines.append(f"  {part:<12}{params[part]:>16,}  {share:5.1f}%")
    lines += [
        "",
        f"FLOPs per token at sequence length {flops['seq_len']}:",
        f"  forward                 {_sci(flops['forward'])}",
        f"  training (3x forward)   {_sci(flops['training'])}   (6N rule of thumb: {_sci(report['six_n_flops_per_token'])})",
        f"  inference, KV cache     {_sci(flops['inference_with_kv_cache'])}",
        "",
        f"training memory at batch {report['batch_size']}, sequence {flops['seq_len']}, {report['precision']}:",
    ]
    for part in ("weights", "gradients", "optimizer", "activations", "total"):
        label = "optimizer (AdamW)" if part == "optimizer" else part
        lines.append(f"  {label:<20}{_gib(memory[part])}")
    machine = report.get("this_machine")
    if machine:
        verdict = (
            "fits" if machine["fits"] else f"does not fit; the largest batch that fits is {machine['largest_batch']}"
        )
        lines.append(f"  this machine has {_gib(machine['free_bytes']).strip()} free: {verdict}")
    lines += [
        "",
        "compute-optimal training (Hoffmann et al. 2022, ~20 tokens per parameter):",
        f"  tokens                  {_short(report['compute_optimal_tokens'])}",
        f"  training compute        {_sci(report['compute_optimal_training_flops'])} FLOPs",
    ]
    return "\n".join(lines)


def main(argv=None, prog=None):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Size, FLOPs and memory of an LLM preset or JSON config file, without building it.",
        epilog=f"presets: {', '.join(PRESETS)}\n\nexamples:\n  zoo explain small\n  zoo explain tiny --batch-size 16 --seq-len 512\n  zoo explain gpt2_small --out memory.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", nargs="?", help="a preset name or a JSON file of LLMConfig fields (may hold 'kind')")
    # --task names the head (causal, masked, seq2seq, classifier, qa), as build_llm's first argument;
    # --kind is its former name.
    parser.add_argument(
        "--task", "--kind", dest="kind", choices=KINDS, help="task head (default: the preset's, or causal)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=8, help="batch size for the memory estimate (default 8)"
    )
    parser.add_argument("--seq-len", type=sequence_length, help="sequence length (default: the model's max_length)")
    parser.add_argument("--precision", choices=tuple(PRECISIONS), default="float32")
    parser.add_argument("--num-classes", type=class_count, default=2, help="labels of a classifier (default 2)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a config field")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--out", metavar="PNG", help="also draw the memory estimate as a bar chart to this PNG file")
    parser.add_argument("--list", action="store_true", help="list the presets and exit")
    args = parser.parse_args(argv)

    if args.list:
        for name, entry in PRESETS.items():
            count = count_parameters(entry["config"], entry["kind"])["total"]
            print(f"{name:<18}{entry['kind']:<9}{count:>14,}  {entry['description']}")
        return 0
    if not args.model:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: give a preset ({', '.join(PRESETS)}) or a config file", file=sys.stderr)
        return 2
    try:
        config, default_kind = _load(args.model)
        config = config.replace(**_parse_sets(args.set)) if args.set else config
        kind = args.kind or default_kind
        # As in build_llm: a classifier on a causal preset keeps the causal backbone.
        backbone = "causal" if kind == "classifier" and default_kind == "causal" else None
        report = explain(
            config,
            kind=kind,
            backbone=backbone,
            batch_size=args.batch_size,
            seq_len=args.seq_len,
            precision=args.precision,
            num_classes=args.num_classes,
        )
    except (ValueError, OSError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    report["this_machine"] = _this_machine(config, report, kind)
    print(json.dumps(report, indent=2) if args.json else format_report(args.model, report))
    if args.out:
        from zoo.pictures.memory import draw_explain

        try:
            draw_explain(report, args.out, name=args.model)
        except OSError as err:
            print(f"{parser.prog}: error: cannot write --out {args.out}: {err}", file=sys.stderr)
            return 2
        if not args.json:
            print(f"memory chart: {args.out}")
    return 0


def _this_machine(config, report, kind):
    """Whether the training memory estimate fits the memory this machine has free (None where unknown)."""
    from zoo.train.memory_check import available_memory, largest_batch

    free = available_memory()
    if free is None:
        return None
    fits = report["memory_bytes"]["total"] <= free
    try:
        batch = (
            report["batch_size"]
            if fits
            else largest_batch(
                config,
                report["flops_per_token"]["seq_len"],
                free,
                report["precision"],
                kind=kind,
                upper=report["batch_size"],
            )
        )
    except (ValueError, TypeError, KeyError):  # a head the training estimate does not know
        batch = None
    return {"free_bytes": int(free), "fits": fits, "largest_batch": batch}


def _load(model):
    if model in PRESETS:
        return get_preset(model), preset_kind(model)
    path = Path(model)
    if path.exists():
        data = json.loads(path.read_text())
        kind = data.get("kind", "causal") if isinstance(data, dict) else "causal"
        return LLMConfig.load(path), kind
    if path.suffix == ".json":
        raise ValueError(f"Config file {model} not found.")
    return get_preset(model), preset_kind(model)  # an unknown name lists the known presets


def _parse_sets(items):
    overrides = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}.")
        try:
            overrides[field] = json.loads(value)
        except json.JSONDecodeError:
            overrides[field] = value  # a bare string such as norm=post
    return overrides


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}. Choose one of: {', '.join(KINDS)}.")


def _backbone_kind(kind, backbone):
    if kind == "causal":
        return "causal"
    if kind == "seq2seq":
        return "seq2seq"
    if kind == "classifier" and backbone == "causal":
        return "causal"
    return "encoder"


def _short(n):
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _sci(n):
    return f"{n:.3e}"


def _gib(n):
    return f"{n / 2**30:10.3f} GiB"


if __name__ == "__main__":
    sys.exit(main())
