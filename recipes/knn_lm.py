"""Recipe: kNN-LM (Khandelwal et al. 2020) — a small causal LM reads a new domain through a datastore.

What "new domain" means here: CPython's pydoc topics hold two books. The LM and
its tokenizer are trained on the Language Reference only; the Library Reference
(built-in types, format strings, pdb; see `zoo.retrieval.domains`) is cut into
paragraph chunks that go to the kNN datastore (70 %), a tuning split (15 %) and
a test split (15 %). No weight changes after training: the datastore holds
(context hidden state -> next token) for the LM's training text plus the new
domain's datastore chunks.

Reported (results.json): perplexity of the LM alone and of kNN-LM on the
held-out Language Reference documents and on the new domain's test split,
(a) with the paper's lambda = 0.25, T = 1, and (b) with lambda and the
temperature picked on the tuning split; plus the new-domain test perplexity
with a datastore of training text only (so the gain of adding the new text is
visible). `--new-domain PATH` replaces the Library Reference with your own text.

Run:
    zoo knn-lm                      # or: python recipes/knn_lm.py
    zoo knn-lm --steps 1200 -k 64 --new-domain my_texts/
"""

import sys
import time

from zoo.errors import UsageError
from zoo.options import sequence_length
from zoo.recipe import Recipe

LAMBDAS = (0.0, 0.1, 0.25, 0.4, 0.6, 0.8)
TEMPERATURES = (1.0, 3.0, 10.0, 30.0)


recipe = Recipe(
    "knn-lm",
    "kNN-LM: a causal LM plus a datastore of (context -> next token), measured by perplexity.",
    examples=[
        "zoo knn-lm --steps 150",
        "zoo knn-lm --steps 300 -k 16 --index exact",
    ],
)


@recipe.options
def add_options(parser):
    parser.add_argument("--preset", default="tiny", help="causal LM preset (default: tiny)")
    parser.add_argument(
        "--vocab-size", type=int, default=2000, help="tokenizer size, trained on the LM's text only (default: 2000)"
    )
    parser.add_argument("--seq-len", type=sequence_length, default=128, help="tokens per window (default: 128)")
    parser.add_argument("--steps", type=int, default=400, help="LM training steps (default: 400)")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per step (default: 16)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="peak learning rate (default: 3e-3)")
    parser.add_argument("--eval-every", type=int, default=100, help="log a history row every N steps (default: 100)")
    parser.add_argument("-k", type=int, default=32, help="neighbours per token (default: 32)")
    parser.add_argument(
        "--index",
        default="hnsw",
        choices=("auto", "exact", "hnsw", "ivf"),
        help="datastore search: exact numpy, or approximate faiss hnsw/ivf (default: hnsw, as the "
        "paper searched approximately; exact is slower on 100k+ keys)",
    )
    parser.add_argument(
        "--new-domain",
        default=None,
        help="text file/folder or corpus folder to use as the new domain instead of the Library Reference topics",
    )


def domain_splits(args):
    """The in-domain train/held-out documents and the new domain's datastore/tune/test chunks."""
    from zoo.retrieval.domains import _bucket, paragraph_chunks, paragraphs, pydoc_domains
    from zoo.retrieval.passages import read_texts

    parts = pydoc_domains(seed=args.seed)
    if args.new_domain:
        texts, _ = read_texts(args.new_domain)
        parts["new_datastore"], parts["new_tune"], parts["new_test"] = [], [], []
        seen = {p for t in parts["train"] + parts["heldout"] for p in paragraphs(t)}
        texts = ["\n\n".join(p for p in paragraphs(t) if p not in seen) for t in texts]  # no overlap with training
        for chunk in dict.fromkeys(c for t in texts for c in paragraph_chunks(t)):
            u = _bucket(chunk, args.seed)
            parts["new_datastore" if u < 0.7 else "new_tune" if u < 0.85 else "new_test"].append(chunk)
        for key in ("new_datastore", "new_tune", "new_test"):
            if not parts[key]:
                raise UsageError(
                    f"--new-domain {args.new_domain}: too little text to fill the datastore, tuning "
                    "and test splits (paragraph chunks of ~1,500 characters); give more text"
                )
    return parts


def train_lm(args, parts, run):
    """Train the tokenizer and the causal LM on the in-domain training documents only; (model, tokenizer, history)."""
    import keras

    from zoo.data.pipelines import clm_dataset
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer
    from zoo.llm import build_llm
    from zoo.llm.models.factory import resolve_config
    from zoo.train.schedules import WarmupDecay

    tokenizer = train_tokenizer(parts["train"], vocab_size=args.vocab_size, seed=args.seed)
    save_tokenizer(tokenizer, run.file("tokenizer"))
    base = resolve_config(args.preset)
    model = build_llm(
        "causal",
        args.preset,
        compile=False,
        vocab_size=int(tokenizer.vocabulary_size()),
        max_length=max(base.max_length, args.seq_len),
    )
    schedule = WarmupDecay(args.learning_rate, args.steps, min(50, args.steps // 10), "cosine", args.learning_rate / 10)
    model.compile(learning_rate=schedule)

    def inputs(ds):
        return ds.map(lambda x, y: ({"token_ids": x, "padding_mask": keras.ops.ones_like(x)}, y))

    train = inputs(clm_dataset(parts["train"], tokenizer, args.seq_len, args.batch_size, seed=args.seed)).repeat()
    # Perplexities are measured afterwards over every held-out token (zoo.retrieval.knn_lm.evaluate), so
    # fit() only trains; one Keras "epoch" is --eval-every steps, one history row each.
    eval_every = min(args.eval_every, args.steps)
    history = model.fit(
        train,
        steps_per_epoch=eval_every,
        epochs=max(1, args.steps // eval_every),
        callbacks=run.callbacks(),
        verbose=args.verbose,
    )
    return model, tokenizer, history


@recipe.body
def run_knn_lm(args, run):
    """Train, build the datastores, evaluate; returns the results dict (also in <run>/results.json)."""
    import keras

    from zoo.retrieval.knn_lm import KNNDatastore, evaluate

    if args.k < 1 or args.steps < 1 or args.seq_len < 2:
        raise UsageError("-k, --steps must be at least 1 and --seq-len at least 2")
    keras.utils.set_random_seed(args.seed)
    parts = domain_splits(args)
    run.note(splits={k: len(v) for k, v in parts.items()})
    started = time.perf_counter()
    model, tokenizer, history = train_lm(args, parts, run)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    print("building the datastore: in-domain training text + new-domain datastore chunks")
    full = KNNDatastore.build(
        model, tokenizer, parts["train"] + parts["new_datastore"], args.seq_len, index_kind=args.index
    )
    build_seconds = time.perf_counter() - started
    in_domain_only = KNNDatastore.build(model, tokenizer, parts["train"], args.seq_len, index_kind=args.index)

    def grid(texts, store):
        return evaluate(model, tokenizer, texts, store, args.seq_len, args.k, LAMBDAS, TEMPERATURES)

    def pick(result, lam, temperature):
        return next(r["perplexity"] for r in result["knn_lm"] if r["lambda"] == lam and r["temperature"] == temperature)

    started = time.perf_counter()
    print(f"datastore: {len(full)} entries ({full.index.kind}), built in {build_seconds:.1f}s; evaluating")
    tune = grid(parts["new_tune"], full)
    best = min(tune["knn_lm"], key=lambda r: r["perplexity"])
    lam, temperature = best["lambda"], best["temperature"]
    results = {
        "datastore_entries": len(full),
        "datastore_build_seconds": round(build_seconds, 2),
        "datastore_index": full.index.kind,
        "k": args.k,
        "train_seconds": round(train_seconds, 1),
        "tuned": {
            "lambda": lam,
            "temperature": temperature,
            "new_tune_perplexity": best["perplexity"],
            "new_tune_lm_perplexity": tune["lm_perplexity"],
        },
        "new_domain": "user text: " + args.new_domain
        if args.new_domain
        else "pydoc Library Reference topics (zoo.retrieval.domains.LIBRARY_TOPICS), LM trained on the "
        "Language Reference topics only",
    }
    for name, texts in (("heldout", parts["heldout"]), ("new_domain_test", parts["new_test"])):
        result = grid(texts, full)
        lm = result["lm_perplexity"]
        paper, tuned = pick(result, 0.25, 1.0), pick(result, lam, temperature)
        results[name] = {
            "tokens": result["tokens"],
            "lm_perplexity": lm,
            "knn_lm_perplexity_paper_defaults": paper,
            "knn_lm_perplexity_tuned": tuned,
            "reduction_paper_defaults": 1 - paper / lm,
            "reduction_tuned": 1 - tuned / lm,
        }
    only = grid(parts["new_test"], in_domain_only)
    results["new_domain_test"]["knn_lm_perplexity_tuned_in_domain_datastore_only"] = pick(only, lam, temperature)
    results["eval_seconds"] = round(time.perf_counter() - started, 1)
    results["train_loss_history"] = [float(v) for v in history.history["loss"]]
    results = run.finish(model, history, results, plot_title=f"knn-lm ({args.preset})")
    for name in ("heldout", "new_domain_test"):
        r = results[name]
        print(
            f"{name}: LM perplexity {r['lm_perplexity']:.2f}, kNN-LM {r['knn_lm_perplexity_tuned']:.2f} "
            f"(lambda {lam}, T {temperature}: {100 * r['reduction_tuned']:.1f}% lower; paper defaults "
            f"{r['knn_lm_perplexity_paper_defaults']:.2f})"
        )
    print(
        f"new domain with a datastore of training text only: "
        f"{results['new_domain_test']['knn_lm_perplexity_tuned_in_domain_datastore_only']:.2f}"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
