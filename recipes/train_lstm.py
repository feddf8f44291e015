"""Recipe: train the tutorial's LSTM text generator on the built-in corpus and sample from it.

The corpus is CPython's `pydoc_data` (the Python language reference, ~465 KB of
English), split by document into train and validation text. The model reads
`--seq-len` tokens and predicts the next; the recipe reports validation perplexity
(exp of the mean crossentropy per token) and prints samples at a few temperatures.

Run:
    zoo train-lstm                       # or: python recipes/train_lstm.py
    zoo train-lstm --level word --epochs 5
    zoo train-lstm --text my_corpus.txt  # your own UTF-8 text (Japanese works at char level)
"""

import os
import sys

from zoo.errors import UsageError
from zoo.options import sequence_length
from zoo.recipe import Recipe

EPOCHS = 4
BATCH_SIZE = 128
SEQ_LEN = 40
STRIDE = 3
MAX_WINDOWS = 60_000
VALIDATION_SHARE = 0.1
TEMPERATURES = (0.2, 0.7, 1.0)


recipe = Recipe(
    "train-lstm",
    "Train the tutorial's LSTM generator on text.",
    examples=[
        "zoo train-lstm --epochs 1",
        "zoo train-lstm --level word --text my_corpus/",
    ],
)


@recipe.options
def add_options(parser):
    parser.add_argument("--text", help="UTF-8 text file or folder of .txt files (default: built-in pydoc corpus)")
    parser.add_argument("--level", choices=("char", "word"), default="char", help="vocabulary level (default: char)")
    parser.add_argument("--max-vocab", type=int, default=10_000, help="largest vocabulary, word level (default: 10000)")
    parser.add_argument(
        "--seq-len", type=sequence_length, default=SEQ_LEN, help=f"tokens read per prediction (default: {SEQ_LEN})"
    )
    parser.add_argument("--stride", type=int, default=STRIDE, help=f"step between training windows (default: {STRIDE})")
    parser.add_argument(
        "--max-windows",
        type=int,
        default=MAX_WINDOWS,
        help=f"cap on training windows per epoch, for CPU time (default: {MAX_WINDOWS})",
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default: {EPOCHS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"batch size (default: {BATCH_SIZE})")
    parser.add_argument("--sample-length", type=int, default=200, help="tokens to generate per sample (default: 200)")
    parser.add_argument("--prompt", default="The ", help="seed text for the samples (default: 'The ')")


def read_documents(path):
    """Read a UTF-8 text file, or every .txt/.md file in a folder, as a list of documents."""
    if os.path.isdir(path):
        files = sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(path)
            for name in names
            if name.endswith((".txt", ".md"))
        )
        if not files:
            raise UsageError(f"--text folder {path!r} has no .txt or .md files.")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise UsageError(f"--text {path!r} is neither a file nor a folder.")
    docs = []
    for name in files:
        try:
            with open(name, encoding="utf-8") as f:
                docs.append(f.read())
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text; convert it first (e.g. iconv -t UTF-8).") from None
        # NUL bytes decode as UTF-8 but never occur in text: a binary file (or a disk image) was given.
        if "\x00" in docs[-1]:
            raise UsageError(f"{name} holds NUL bytes, so it is not text; give a UTF-8 text file or folder.")
    return [d for d in docs if d.strip()]


def split_documents(docs, share=VALIDATION_SHARE):
    """Hold out every 1/share-th document for validation, so both splits cover the whole corpus."""
    if len(docs) >= 2:
        step = max(2, round(1 / share))
        val = [d for i, d in enumerate(docs) if i % step == step - 1]
        train = [d for i, d in enumerate(docs) if i % step != step - 1]
        return train, val
    # One document: hold out its tail.
    text = docs[0]
    cut = int(len(text) * (1 - share))
    return [text[:cut]], [text[cut:]]


@recipe.body
def train(args, run):
    import keras
    import numpy as np

    from zoo import build_lstm_generator
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.text.lstm_generator import make_next_token_windows
    from zoo.text.sampler import sample_text
    from zoo.text.vocabulary import TextVocabulary

    for name in ("epochs", "batch_size", "seq_len", "stride", "max_windows"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1.")
    keras.utils.set_random_seed(args.seed)
    docs = read_documents(args.text) if args.text else load_builtin_corpus()
    if not docs:
        raise UsageError("The corpus is empty; give a non-empty text file.")
    train_docs, val_docs = split_documents(docs)
    vocab = TextVocabulary(args.level, max_size=args.max_vocab if args.level == "word" else None).fit(train_docs)

    def windows(doc_list, max_windows):
        sep = "\n\n" if args.level == "char" else " "
        ids = vocab.encode(sep.join(doc_list))
        return make_next_token_windows(ids, args.seq_len, stride=args.stride, max_windows=max_windows)

    x_train, y_train = windows(train_docs, None)
    # Keep a random subset of windows from the whole training text, not just its start.
    rng = np.random.default_rng(args.seed)
    if len(x_train) > args.max_windows:
        keep = np.sort(rng.choice(len(x_train), args.max_windows, replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    x_val, y_val = windows(val_docs, max(1, args.max_windows // 5))
    print(f"{args.level}-level vocabulary: {vocab.size} ids; {len(x_train)} train / {len(x_val)} validation windows")

    vocab.save(run.file("vocabulary.json"))
    model = build_lstm_generator(vocab.size, sequence_length=args.seq_len)
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=run.callbacks(),
        verbose=args.verbose,
    )
    val_loss = float(model.evaluate(x_val, y_val, batch_size=256, verbose=0))
    # Perplexity of a unigram model on the same validation windows: the bar an LSTM must clear.
    counts = np.bincount(y_train, minlength=vocab.size).astype("float64") + 1.0
    unigram_ppl = float(np.exp(-np.mean(np.log(counts[y_val] / counts.sum()))))

    samples = {}
    for t in TEMPERATURES:
        samples[str(t)] = sample_text(
            model, vocab, args.prompt, length=args.sample_length, temperature=t, seed=args.seed
        )
        print(f"\n--- sample, temperature {t} ---\n{samples[str(t)]}")
        run.summaries.text(f"samples/temperature_{t}", samples[str(t)])
    results = run.finish(
        model,
        history,
        {
            "level": args.level,
            "vocab_size": vocab.size,
            "validation_perplexity": float(np.exp(val_loss)),
            "validation_loss": val_loss,
            "unigram_perplexity": unigram_ppl,
            "params": int(model.count_params()),
            "samples": samples,
        },
        plot_title=f"LSTM generator ({args.level} level)",
    )
    print(
        f"\nvalidation perplexity: {results['validation_perplexity']:.2f} per {args.level} "
        f"(unigram baseline {unigram_ppl:.2f})"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
