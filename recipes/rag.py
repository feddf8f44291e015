"""Recipe: retrieval-augmented generation — fine-tune a causal LM to answer from retrieved passages.

The QA set (default: `zoo/retrieval/datasets/facts.jsonl`, 200 made-up facts about
40 fictional countries; 10 countries are the test split) gives every fact a
one-sentence passage. All passages go into a document store (BM25 by default);
the model never trains on the test countries' facts, so it can only answer them
by reading what the store returns.

Fine-tuning data, from the training split: --copies counterfactual copies of
each fact (answer and country replaced by fresh made-up words in passage,
question and answer; see `zoo.retrieval.rag.counterfactual`), each with its
gold passage plus k-1 passages retrieved for the question as context, so that
answers cannot be memorised and must be read; plus each real training question
once closed book. The answer tokens alone carry the loss. Evaluation: exact match
on the test split with retrieval and without (closed book), and the same on the
training split.

The causal LM is a run from `zoo pretrain-clm` (--from), or a fresh preset model
using the tokenizer of the --data corpus folder (the built-in corpus, prepared
on first use).

Run:
    zoo rag                                   # or: python recipes/rag.py
    zoo rag --from runs/pretrain-clm-20260101-120000 -k 2 --steps 800
"""

import sys
import time

from zoo.errors import UsageError
from zoo.options import sequence_length
from zoo.recipe import Recipe

recipe = Recipe(
    "rag",
    "Fine-tune a causal LM to answer questions from retrieved passages; exact match with and without retrieval.",
    examples=[
        "zoo rag --steps 300",
        "zoo rag --method dense -k 3",
    ],
)


@recipe.options
def add_options(parser):
    from zoo.data.corpus import DEFAULT_DATA

    parser.add_argument(
        "--from",
        "--run",
        dest="run",
        default=None,
        help="a causal LM run folder (model.keras + tokenizer/) to fine-tune",
    )
    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help=f"corpus folder whose tokenizer a fresh model uses (default: {DEFAULT_DATA}, prepared on first use)",
    )
    parser.add_argument("--preset", default="tiny", help="preset of a fresh model when no --from (default: tiny)")
    parser.add_argument(
        "--qa", default=None, help="QA JSONL (question, answer, passage, split); default: the shipped facts set"
    )
    parser.add_argument("-k", type=int, default=1, help="passages retrieved per question (default: 1)")
    parser.add_argument(
        "--method", default="bm25", choices=("bm25", "dense", "hybrid"), help="retrieval method (default: bm25)"
    )
    parser.add_argument("--steps", type=int, default=800, help="fine-tuning steps (default: 800)")
    parser.add_argument(
        "--copies", type=int, default=20, help="counterfactual copies of each training fact (default: 20)"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step (default: 32)")
    parser.add_argument("--seq-len", type=sequence_length, default=64, help="tokens per example (default: 64)")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak learning rate (default: 2e-3)")


def load_model(args):
    """(model, tokenizer): the --from run's, or a fresh preset model on the corpus folder's tokenizer."""
    from zoo.data.corpus import ensure_corpus
    from zoo.data.tokenizer import load_tokenizer
    from zoo.llm import build_llm
    from zoo.llm.models.factory import resolve_config
    from zoo.retrieval.encoder import load_run

    if args.run:
        model, tokenizer = load_run(args.run)
        if type(model).__name__ != "CausalLM":
            raise UsageError(
                f"--from {args.run} holds a {type(model).__name__}; RAG needs a causal LM run (zoo pretrain-clm)"
            )
        return model, tokenizer
    tokenizer = load_tokenizer(ensure_corpus(args.data) / "tokenizer")
    base = resolve_config(args.preset)
    model = build_llm(
        "causal",
        args.preset,
        compile=False,
        vocab_size=int(tokenizer.vocabulary_size()),
        max_length=max(base.max_length, args.seq_len + 16),
    )
    return model, tokenizer


@recipe.body
def run_rag(args, run):
    """Build the store, fine-tune, evaluate EM with and without retrieval; returns the results dict."""
    import keras

    from zoo.retrieval.rag import counterfactual, evaluate_em, load_qa, retrieve_contexts, training_arrays
    from zoo.retrieval.store import DocumentStore
    from zoo.train.schedules import WarmupDecay

    if args.k < 1 or args.steps < 1 or args.batch_size < 1 or args.seq_len < 8 or args.copies < 1:
        raise UsageError("-k, --steps, --batch-size and --copies must be at least 1 and --seq-len at least 8")
    keras.utils.set_random_seed(args.seed)
    rows = load_qa(args.qa)
    train_rows = [r for r in rows if r.get("split", "train") == "train"]
    test_rows = [r for r in rows if r.get("split") == "test"]
    if not train_rows or not test_rows:
        raise UsageError("the QA file needs rows with split 'train' and split 'test'")
    if not all("passage" in r for r in rows):
        raise UsageError("every QA row needs a 'passage' (the text the store holds)")
    model, tokenizer = load_model(args)

    store = DocumentStore.build([r["passage"] for r in rows], tokenizer, window=args.seq_len, stride=args.seq_len)
    store.save(run.file("store"))
    print(f"store: {len(store)} passages (BM25) in {run.file('store')}")

    import random

    rng = random.Random(args.seed)
    copies = [counterfactual(r, rng) for _ in range(args.copies) for r in train_rows]
    # Distractors are what the store returns for the real question; the gold passage (with the
    # made-up words) goes in at a random place among them.
    retrieved = retrieve_contexts(store, [r["question"] for r in train_rows], k=args.k, method=args.method)
    contexts = []
    for i, row in enumerate(copies):
        others = [p for p in retrieved[i % len(train_rows)] if p != train_rows[i % len(train_rows)]["passage"]]
        context = others[: args.k - 1]
        context.insert(rng.randrange(len(context) + 1), row["passage"])
        contexts.append(context)
    questions = [r["question"] for r in copies] + [r["question"] for r in train_rows]
    answers = [r["answer"] for r in copies] + [r["answer"] for r in train_rows]
    contexts += [[] for _ in train_rows]  # closed book: the model also knows that prompt shape
    x, y, w = training_arrays(tokenizer, questions, answers, contexts, args.seq_len)
    schedule = WarmupDecay(args.learning_rate, args.steps, min(50, args.steps // 10), "cosine", args.learning_rate / 10)
    model.compile(learning_rate=schedule)
    per_epoch = max(1, len(y) // args.batch_size)
    started = time.perf_counter()
    history = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=args.batch_size,
        epochs=max(1, args.steps // per_epoch),
        shuffle=True,
        callbacks=run.callbacks(),
        verbose=args.verbose,
    )
    train_seconds = time.perf_counter() - started

    results = {
        "train_seconds": round(train_seconds, 1),
        "k": args.k,
        "method": args.method,
        "train_examples": int(len(y)),
        "fresh_model": not args.run,
    }
    for name, split in (("test", test_rows), ("train", train_rows)):
        with_retrieval = evaluate_em(model, tokenizer, split, store=store, k=args.k, method=args.method)
        closed_book = evaluate_em(model, tokenizer, split, store=None)
        results[name] = {
            "exact_match_with_retrieval": with_retrieval["exact_match"],
            "exact_match_without_retrieval": closed_book["exact_match"],
            "retrieval_hit_rate": with_retrieval["retrieval_hit_rate"],
            "count": len(split),
            "examples_with_retrieval": with_retrieval["examples"],
            "examples_without_retrieval": closed_book["examples"],
        }
    from zoo.data.tokenizer import save_tokenizer

    save_tokenizer(tokenizer, run.file("tokenizer"))
    results = run.finish(model, history, results, plot_title="rag")
    test = results["test"]
    print(
        f"test split ({test['count']} questions about countries never seen in fine-tuning): exact match "
        f"{test['exact_match_with_retrieval']:.1%} with retrieval (top-{args.k} {args.method}, gold passage "
        f"retrieved {test['retrieval_hit_rate']:.0%}), {test['exact_match_without_retrieval']:.1%} closed book"
    )
    return results


main = recipe.main


if __name__ == "__main__":
    sys.exit(main())
