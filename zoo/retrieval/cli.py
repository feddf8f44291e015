"""`zoo retrieve`: build a document store, query it, generate with retrieval, evaluate kNN-LM.

    zoo retrieve build data/corpus-builtin --out data/store-builtin            # BM25 only
    zoo retrieve build data/corpus-builtin --model runs/pretrain-mlm-... --out data/store-dense
    zoo retrieve query data/store-builtin "how does a for loop work" -k 3
    zoo retrieve generate --run runs/rag-... --retrieval runs/rag-.../store "What is the capital of Sturilia?"
    zoo retrieve knn-lm --run runs/pretrain-clm-... --datastore my_texts/ --eval my_heldout.txt

Every bad input (a store built with another tokenizer or model, an empty store,
k larger than the store, a missing folder) ends with one clear line and exit status 2.

Example:
    >>> build_parser().parse_args(["query", "data/store-builtin", "for loop"]).k
    5
"""

import argparse
import json
import sys

from zoo.options import sequence_length


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog or "zoo retrieve",
        description="Retrieval: document stores (BM25 + dense), RAG generation, kNN-LM.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  zoo retrieve build data/corpus-builtin --out data/store-builtin\n"
        '  zoo retrieve query data/store-builtin "how does a for loop work" -k 3\n'
        "  zoo retrieve knn-lm --help",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build a document store from a corpus folder, text file or folder")
    build.add_argument("corpus", help="corpus folder from `zoo data prepare`, a .txt/.md/.jsonl file or a folder")
    build.add_argument("--out", required=True, help="store folder to write")
    build.add_argument(
        "--model",
        default=None,
        help="encoder run (pretrain-mlm or pretrain-clm) for a dense index; its tokenizer cuts the passages",
    )
    build.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the corpus folder's tokenizer/)")
    build.add_argument("--window", type=int, default=128, help="tokens per passage (default: 128)")
    build.add_argument("--stride", type=int, default=96, help="tokens between passage starts (default: 96)")
    build.add_argument(
        "--index",
        default="auto",
        choices=("auto", "exact", "hnsw", "ivf"),
        help="dense index: exact numpy or faiss hnsw/ivf; auto = exact up to 50,000 passages",
    )

    query = sub.add_parser("query", help="top-k passages of a store for a query")
    query.add_argument("store", help="store folder")
    query.add_argument("text", help="the query")
    query.add_argument("-k", type=int, default=5, help="passages to return (default: 5)")
    query.add_argument("--method", default="bm25", choices=("bm25", "dense", "hybrid"), help="(default: bm25)")
    query.add_argument("--json", action="store_true", help="print JSON lines instead of text")

    gen = sub.add_parser("generate", help="generate from a causal LM run, optionally with retrieved context")
    gen.add_argument("prompt", help="prompt or question")
    gen.add_argument("--run", required=True, help="causal LM run folder (model.keras + tokenizer/)")
    gen.add_argument(
        "--retrieval",
        default=None,
        metavar="STORE",
        help="store folder: its top-k passages become the prompt's context (RAG)",
    )
    gen.add_argument("-k", type=int, default=1, help="passages retrieved (default: 1)")
    gen.add_argument("--method", default="bm25", choices=("bm25", "dense", "hybrid"), help="(default: bm25)")
    gen.add_argument("--max-new-tokens", type=int, default=16, help="(default: 16)")
    gen.add_argument("--sampler", default="greedy", choices=("greedy", "top_k", "top_p", "random"))
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=0)

    knn = sub.add_parser("knn-lm", help="perplexity of a causal LM alone and with a kNN datastore")
    knn.add_argument("--run", required=True, help="causal LM run folder (model.keras + tokenizer/)")
    knn.add_argument("--eval", required=True, help="text to evaluate: corpus folder, text file or folder")
    source = knn.add_mutually_exclusive_group(required=True)
    source.add_argument("--datastore", nargs="+", help="texts to build the datastore from (corpus folders, files)")
    source.add_argument("--load-datastore", default=None, help="a datastore folder saved with --save-datastore")
    knn.add_argument("--save-datastore", default=None, help="folder to save the built datastore in")
    knn.add_argument("-k", type=int, default=32, help="neighbours (default: 32)")
    knn.add_argument(
        "--lam",
        "--lambda",
        dest="lam",
        type=float,
        nargs="+",
        default=[0.25],
        help="interpolation weights of the kNN distribution (default: 0.25)",
    )
    knn.add_argument(
        "--temperature",
        type=float,
        nargs="+",
        default=[1.0],
        help="softmax temperatures on the distances (default: 1.0)",
    )
    knn.add_argument("--seq-len", type=sequence_length, default=128, help="tokens per window (default: 128)")
    knn.add_argument("--index", default="auto", choices=("auto", "exact", "hnsw", "ivf"), help="(default: auto)")
    return parser


def _build(args):
    from zoo.retrieval.encoder import Encoder
    from zoo.retrieval.store import DocumentStore

    encoder = Encoder.from_run(args.model) if args.model else None
    tokenizer = None
    if args.tokenizer:
        from zoo.data.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(args.tokenizer)
    store = DocumentStore.build(
        args.corpus,
        tokenizer,
        encoder=encoder,
        window=args.window,
        stride=args.stride,
        index_kind=args.index,
        progress=True,
        log=print,
    )
    store.save(args.out)
    print(
        f"store: {len(store)} passages, BM25{' + dense (' + store.vectors.kind + ')' if store.has_dense else ''} "
        f"-> {args.out} ({store.manifest['build_seconds']} s)"
    )


def _query(args):
    from zoo.retrieval.store import DocumentStore

    store = DocumentStore.load(args.store)
    for hit in store.search(args.text, k=args.k, method=args.method):
        if args.json:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
        else:
            text = " ".join(hit.text.split())
            print(f"{hit.rank + 1}. [{hit.score:.3f}] {hit.source}: {text[:300]}")


def _generate(args):
    from zoo.retrieval.encoder import load_run
    from zoo.retrieval.passages import detokenize_many, tokenize_texts
    from zoo.retrieval.rag import format_prompt, retrieve_contexts

    model, tokenizer = load_run(args.run)
    prompt = args.prompt
    if args.retrieval:
        from zoo.retrieval.store import DocumentStore

        # The store keeps its own tokenizer (retrieval returns text), so it need not be the LM's.
        store = DocumentStore.load(args.retrieval)
        passages = retrieve_contexts(store, [prompt], k=args.k, method=args.method)[0]
        for i, text in enumerate(passages, 1):
            print(f"retrieved {i}: {' '.join(text.split())[:300]}")
        prompt = format_prompt(prompt, passages)
    ids = tokenize_texts([prompt], tokenizer)[0]
    limit = model.llm_config.max_length - args.max_new_tokens
    if limit < 1:
        raise ValueError(
            f"--max-new-tokens {args.max_new_tokens} leaves no room for a prompt "
            f"(the model's max_length is {model.llm_config.max_length})"
        )
    out = model.generate(
        [ids[-limit:].tolist()],
        max_new_tokens=args.max_new_tokens,
        sampler=args.sampler,
        temperature=args.temperature,
        seed=args.seed,
        stop_token_ids=[tokenizer.end_token_id],
        pad_token_id=tokenizer.pad_token_id,
        jit_compile=False,
    )
    print(detokenize_many(tokenizer, [out[0] if len(out[0]) else [tokenizer.pad_token_id]])[0].replace("[PAD]", ""))


def _knn_lm(args):
    from zoo.retrieval.encoder import load_run
    from zoo.retrieval.knn_lm import KNNDatastore, evaluate
    from zoo.retrieval.passages import read_texts

    model, tokenizer = load_run(args.run)
    if args.load_datastore:
        datastore = KNNDatastore.load(args.load_datastore)
    else:
        texts = [t for source in args.datastore for t in read_texts(source)[0]]
        datastore = KNNDatastore.build(model, tokenizer, texts, args.seq_len, index_kind=args.index)
        if args.save_datastore:
            datastore.save(args.save_datastore)
    eval_texts, _ = read_texts(args.eval)
    result = evaluate(model, tokenizer, eval_texts, datastore, args.seq_len, args.k, args.lam, args.temperature)
    result["datastore_entries"] = len(datastore)
    print(json.dumps(result, indent=2))


def main(argv=None, prog=None):
    args = build_parser(prog).parse_args(argv)
    commands = {"build": _build, "query": _query, "generate": _generate, "knn-lm": _knn_lm}
    try:
        commands[args.command](args)
    except (ValueError, FileNotFoundError) as err:
        print(f"{prog or 'zoo retrieve'}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
