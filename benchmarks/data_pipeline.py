"""Benchmark: how fast is the data pipeline, and can tf.data keep a small model fed?

Prints one JSON object:

- clean+filter and dedup throughput in MB/s (UTF-8 input bytes) on a corpus of
  at least 50 MB made by repeating the built-in corpus with perturbations: some
  copies exact, some lightly edited (near-duplicates), most heavily edited
  (distinct documents for dedup, but still prose for the filter);
- tokenizer training time (SentencePiece unigram) on the built-in corpus and on
  a 10 MB slice of the benchmark corpus;
- tf.data CLM tokens/s, first pass (tokenize + pack + cache) and cached passes,
  against the training tokens/s of a small keras-hub GPT-2 (4 layers, width 256,
  sequence 128) trained with fit() in the same run, on in-memory batches so the
  model alone is timed. The target is tf.data >= 10x training.

Example:
    $ python benchmarks/data_pipeline.py --quick      # ~5 MB, a minute or two
    $ python benchmarks/data_pipeline.py              # 50 MB, several minutes
"""

import argparse
import json
import os
import platform
import random
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SEQUENCE_LENGTH = 128
BATCH_SIZE = 32
SLICE_VOCAB = 3000
# Share of copies per perturbation rate: 0.0 = exact duplicate, small = near duplicate,
# large = a new document as far as dedup can tell.
PERTURBATION_MIX = [(0.0, 0.1), (0.02, 0.2), (0.5, 0.7)]


def make_corpus(target_bytes, seed):
    """Return Documents of >= target_bytes made by repeating and perturbing the built-in corpus."""
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.document import Document, document_id

    base = load_builtin_corpus()
    vocabulary = sorted({w for text in base for w in text.split() if w.isalpha()})
    rng = random.Random(seed)
    rates = [rate for rate, share in PERTURBATION_MIX for _ in range(int(share * 10))]
    docs, size, copy = [], 0, 0
    while size < target_bytes:
        for index, text in enumerate(base):
            rate = 0.0 if copy == 0 else rng.choice(rates)
            if rate:
                words = text.split(" ")
                for i in rng.sample(range(len(words)), int(len(words) * rate)):
                    words[i] = rng.choice(vocabulary)
                text = " ".join(words)
            source = f"bench:{copy}:{index}"
            docs.append(Document(id=document_id(source, text), text=text, source=source))
            size += len(text.encode("utf-8"))
        copy += 1
    return docs, size


def timed(func, *args, **kwargs):
    started = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - started


def training_tokens_per_second(vocab_size, steps, seed):
    """Train a small keras-hub GPT-2 with fit() on in-memory batches; return steady-state tokens/s."""
    import keras
    import keras_hub
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocab_size,
        num_layers=4,
        num_heads=4,
        hidden_dim=256,
        intermediate_dim=1024,
        max_sequence_length=SEQUENCE_LENGTH,
    )
    model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    model.compile(
        optimizer=keras.optimizers.AdamW(3e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )
    rng = np.random.default_rng(seed)
    ids = rng.integers(7, vocab_size, size=(BATCH_SIZE * steps, SEQUENCE_LENGTH + 1), dtype="int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1], dtype=bool)}
    data = tf.data.Dataset.from_tensor_slices((x, ids[:, 1:])).batch(BATCH_SIZE).cache()

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.started

    timer = EpochTimer()
    model.fit(data, epochs=1, verbose=0, shuffle=False)  # first epoch: tracing and compilation, not timed
    model.fit(data, epochs=1, verbose=0, shuffle=False, callbacks=[timer])
    return steps * BATCH_SIZE * SEQUENCE_LENGTH / timer.seconds, int(backbone.count_params())


def tf_data_tokens_per_second(texts, tokenizer):
    """Iterate the CLM dataset twice; return (first-pass tokens/s, cached tokens/s, tokens)."""
    from zoo.data.pipelines import clm_dataset

    ds = clm_dataset(texts, tokenizer, sequence_length=SEQUENCE_LENGTH, batch_size=BATCH_SIZE, seed=0)
    rates = []
    for _ in range(2):
        started, batches = time.perf_counter(), 0
        for _ in ds:
            batches += 1
        rates.append(batches * BATCH_SIZE * SEQUENCE_LENGTH / (time.perf_counter() - started))
    return rates[0], rates[1], batches * BATCH_SIZE * SEQUENCE_LENGTH


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 MB corpus and fewer training steps (CI/smoke)")
    parser.add_argument("--size-mb", type=float, default=None, help="benchmark corpus size (default 50, quick 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--processes",
        "--workers",
        dest="workers",
        type=int,
        default=1,
        help="processes for clean and filter (default 1)",
    )
    args = parser.parse_args(argv)
    size_mb = args.size_mb or (5.0 if args.quick else 50.0)

    from zoo.data.clean import clean_documents
    from zoo.data.dedup import deduplicate
    from zoo.data.filters import filter_documents
    from zoo.data.prepare import builtin_documents
    from zoo.data.tokenizer import train_tokenizer

    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    docs, size = make_corpus(int(size_mb * 1e6), args.seed)
    log(f"benchmark corpus: {len(docs)} documents, {size / 1e6:.1f} MB")

    (cleaned, _), clean_s = timed(clean_documents, docs, progress=True, workers=args.workers)
    filtered, filter_s = timed(filter_documents, cleaned, progress=True, workers=args.workers)
    deduped, dedup_s = timed(deduplicate, filtered.kept, progress=True)
    dedup_bytes = sum(len(d.text.encode("utf-8")) for d in filtered.kept)

    builtin = [
        d.text for d in filter_documents(clean_documents(builtin_documents(), progress=False)[0], progress=False).kept
    ]
    tokenizer, builtin_tok_s = timed(train_tokenizer, builtin, vocab_size=2000)
    slice_texts, slice_bytes = [], 0
    for doc in deduped.kept:
        if slice_bytes >= 10e6 or args.quick and slice_bytes >= 2e6:
            break
        slice_texts.append(doc.text)
        slice_bytes += len(doc.text.encode("utf-8"))
    # The perturbed copies reuse the built-in corpus's words, so its vocabulary caps what
    # SentencePiece can learn (~3,600-4,200 pieces); 3000 fits every size.
    _, slice_tok_s = timed(train_tokenizer, slice_texts, vocab_size=SLICE_VOCAB)
    log("tokenizers trained")

    # A few MB are enough for a steady rate; tokenizing all 50 MB would only make the run long.
    texts, text_bytes = [], 0
    for doc in deduped.kept:
        if text_bytes >= (1e6 if args.quick else 5e6):
            break
        texts.append(doc.text)
        text_bytes += len(doc.text.encode("utf-8"))
    first_rate, cached_rate, tokens = tf_data_tokens_per_second(texts, tokenizer)
    log(f"tf.data: {first_rate:,.0f} tokens/s first pass, {cached_rate:,.0f} cached")
    train_rate, params = training_tokens_per_second(tokenizer.vocabulary_size(), 10 if args.quick else 30, args.seed)
    log(f"training: {train_rate:,.0f} tokens/s")

    result = {
        "benchmark": "data_pipeline",
        "quick": args.quick,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "corpus": {
            "documents": len(docs),
            "megabytes": round(size / 1e6, 2),
            "made_from": "built-in pydoc corpus repeated with word substitutions "
            f"(rate: share of copies) {PERTURBATION_MIX}",
        },
        "clean_filter": {
            "workers": args.workers,
            "seconds": round(clean_s + filter_s, 2),
            "clean_seconds": round(clean_s, 2),
            "filter_seconds": round(filter_s, 2),
            "mb_per_s": round(size / 1e6 / (clean_s + filter_s), 3),
            "docs_kept": len(filtered.kept),
            "removed": filtered.reason_counts(),
        },
        "dedup": {
            "seconds": round(dedup_s, 2),
            "megabytes_in": round(dedup_bytes / 1e6, 2),
            "mb_per_s": round(dedup_bytes / 1e6 / dedup_s, 3),
            "docs_in": len(filtered.kept),
            "docs_kept": len(deduped.kept),
            "removed": deduped.reason_counts(),
            "clusters": len(deduped.clusters),
        },
        "tokenizer_training": {
            "kind": "sentencepiece-unigram",
            "builtin_corpus": {
                "megabytes": round(sum(len(t.encode()) for t in builtin) / 1e6, 3),
                "vocab_size": 2000,
                "seconds": round(builtin_tok_s, 2),
            },
            "benchmark_slice": {
                "megabytes": round(slice_bytes / 1e6, 2),
                "vocab_size": SLICE_VOCAB,
                "seconds": round(slice_tok_s, 2),
            },
        },
        "tf_data_clm": {
            "sequence_length": SEQUENCE_LENGTH,
            "batch_size": BATCH_SIZE,
            "tokens": tokens,
            "megabytes": round(text_bytes / 1e6, 2),
            "first_pass_tokens_per_s": round(first_rate),
            "cached_tokens_per_s": round(cached_rate),
        },
        "training_reference": {
            "model": "keras_hub GPT2Backbone 4 layers, 4 heads, width 256, ff 1024, seq 128 "
            "(zoo.llm not used), GPT2CausalLM.fit on in-memory batches",
            "parameters": params,
            "batch_size": BATCH_SIZE,
            "tokens_per_s": round(train_rate),
        },
        "ratio_tf_data_vs_training": {
            "first_pass": round(first_rate / train_rate, 1),
            "cached": round(cached_rate / train_rate, 1),
            "target": 10,
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
