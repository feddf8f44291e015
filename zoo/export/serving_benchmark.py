"""Serving latency: the loaded SavedModel against Keras `predict`, batches of 1, 8 and 32, in one run.

For the tutorial's CNN and a causal LM (preset "small" by default) it exports a
SavedModel to a temporary folder, loads it with `tf.saved_model.load` as a
server would, and times the same inputs through both paths (median of
`--repeats` calls after two warm-up calls). For the LM it times the `logits`
signature against `predict`, and the `generate` signature (a graph loop without
KV cache) against `model.generate` (compiled, with KV cache). It prints one
JSON object; `keras_over_saved_model` > 1 means the SavedModel is faster.

Example:
    $ python -m zoo.export.serving_benchmark --repeats 10
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

BATCHES = (1, 8, 32)


def median_ms(fn, repeats):
    """Median wall time of `fn()` in milliseconds, after two warm-up calls (tracing, allocation)."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def compare(name, batch, keras_fn, served_fn, repeats):
    keras_ms, served_ms = median_ms(keras_fn, repeats), median_ms(served_fn, repeats)
    return {"model": name, "batch": batch, "keras_ms": keras_ms, "saved_model_ms": served_ms,
            "keras_over_saved_model": round(keras_ms / served_ms, 3)}


def main(argv=None, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per measurement (default: 10)")
    parser.add_argument("--lm-preset", default="small", help="causal LM preset (default: small)")
    parser.add_argument("--seq-len", type=int, default=64, help="tokens per row for the logits timing (default: 64)")
    parser.add_argument("--new-tokens", type=int, default=16, help="tokens generated per row (default: 16)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    import tensorflow as tf

    from zoo.export.saved_model import export_saved_model
    from zoo.llm import build_llm
    from zoo.vision.cnn import build_cnn

    rng = np.random.default_rng(0)
    cnn = build_cnn(compile=False)
    lm = build_llm("causal", args.lm_preset, dropout=0.0, compile=False)
    vocab = lm.llm_config.vocab_size
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-serving-benchmark-") as root:
        served_cnn = tf.saved_model.load(export_saved_model(cnn, root, check=False).path)
        served_lm = tf.saved_model.load(export_saved_model(lm, root, check=False).path)
        for batch in BATCHES:
            images = rng.uniform(size=(batch, 28, 28, 1)).astype("float32")
            rows.append(compare("cnn", batch, lambda: cnn.predict(images, batch_size=batch, verbose=0),
                                lambda: served_cnn.signatures["serving_default"](image=tf.constant(images)),
                                args.repeats))
        for batch in BATCHES:
            ids = rng.integers(7, vocab, size=(batch, args.seq_len)).astype("int32")
            inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
            rows.append(compare(f"{args.lm_preset}_lm_logits", batch,
                                lambda: lm.predict(inputs, batch_size=batch, verbose=0),
                                lambda: served_lm.signatures["logits"](token_ids=tf.constant(ids)), args.repeats))
        for batch in BATCHES:
            prompts = rng.integers(7, vocab, size=(batch, 8)).astype("int32")
            limits, temperature = np.full(batch, args.new_tokens, "int32"), np.zeros(batch, "float32")
            rows.append(compare(
                f"{args.lm_preset}_lm_generate_{args.new_tokens}", batch,
                lambda: lm.generate(prompts.tolist(), max_new_tokens=args.new_tokens),
                lambda: served_lm.signatures["generate"](prompt_ids=tf.constant(prompts),
                                                         max_new_tokens=tf.constant(limits),
                                                         temperature=tf.constant(temperature)),
                max(1, args.repeats // 3)))
    print(json.dumps({
        "benchmark": "serving",
        "tensorflow_version": tf.__version__,
        "cpu_count": os.cpu_count(),
        "repeats": args.repeats,
        "results": rows,
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
