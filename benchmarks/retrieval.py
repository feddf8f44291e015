"""Benchmark: retrieval speed and quality, and what retrieval buys a small LM.

Prints one JSON object:

- vector search at 10k and 100k passages (--quick: 10k only): build time and
  query latency (one query at a time, median) of the exact numpy index, faiss
  HNSW and faiss IVF, and recall@10 of the approximate ones against exact
  search measured in the same run (speed-ups are ratios to exact). The vectors
  are SYNTHETIC: 384-dimensional (a small sentence encoder's width), a mixture
  of 2,000 Gaussian clusters, L2-normalised, so the neighbourhood structure is
  closer to real embeddings than uniform noise; queries are fresh draws.
- BM25 at 10k/100k synthetic passages of 128 tokens (Zipf-distributed token
  ids over an 8k vocabulary): build time and query latency.
- kNN-LM: perplexity of the small causal LM alone and with kNN-LM, held out
  in-domain and on the new domain (recipes/knn_lm.py; target: >= 10 % lower on
  the new domain).
- RAG: exact match on the test split of the made-up facts set with and without
  retrieval (recipes/rag.py).

The two recipes train models (minutes on a CPU); pass --knn-lm-run/--rag-run to
read the results of runs made earlier instead.

Example:
    $ python benchmarks/retrieval.py --quick
    $ python benchmarks/retrieval.py --knn-lm-run runs/knn-lm-... --rag-run runs/rag-...
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DIM = 384
CLUSTERS = 2000
QUERIES = 200


def synthetic_vectors(count, seed, dim=DIM):
    """Clustered unit vectors (centres + noise), and QUERIES fresh queries from the same mixture."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, dim)).astype("float32")

    def draw(n):
        x = centres[rng.integers(0, CLUSTERS, n)] + 0.6 * rng.normal(size=(n, dim)).astype("float32")
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    return draw(count).astype("float32"), draw(QUERIES).astype("float32")


def latency_ms(index, queries, k=10):
    """Median milliseconds of a single-query search."""
    times = []
    for q in queries[:100]:
        started = time.perf_counter()
        index.search(q[None], k)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def vector_search(count, seed):
    import numpy as np

    from zoo.retrieval.vector_index import ExactIndex, FaissIndex

    x, q = synthetic_vectors(count, seed)
    out = {"passages": count, "dim": DIM}
    started = time.perf_counter()
    exact = ExactIndex(x, metric="ip")
    out["exact"] = {
        "build_seconds": round(time.perf_counter() - started, 3),
        "query_ms": round(latency_ms(exact, q), 3),
    }
    truth, _ = exact.search(q, 10)
    for kind, options in (("hnsw", {"ef_search": 64}), ("ivf", {"nprobe": 16})):
        started = time.perf_counter()
        index = FaissIndex(x, kind=kind, metric="ip", **options)
        build = time.perf_counter() - started
        found, _ = index.search(q, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
        ms = latency_ms(index, q)
        out[kind] = {
            "build_seconds": round(build, 3),
            "query_ms": round(ms, 3),
            "recall_at_10": round(recall, 4),
            "speedup_vs_exact": round(out["exact"]["query_ms"] / ms, 2),
            "settings": options,
        }
    return out


def bm25_search(count, seed, length=128, vocab=8000):
    import numpy as np

    from zoo.retrieval.bm25 import BM25Index

    rng = np.random.default_rng(seed)
    passages = np.minimum(rng.zipf(1.2, size=(count, length)), vocab - 1)
    started = time.perf_counter()
    index = BM25Index.build(passages, vocab_size=vocab)
    build = time.perf_counter() - started
    queries = [passages[i, :8] for i in rng.integers(0, count, 100)]
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, 10)
        times.append(1000 * (time.perf_counter() - started))
    return {
        "passages": count,
        "tokens_per_passage": length,
        "build_seconds": round(build, 3),
        "query_ms": round(statistics.median(times), 3),
    }


def read_results(run):
    path = os.path.join(run, "results.json")
    if not os.path.isfile(path):
        raise SystemExit(f"{path} not found; give a finished run folder of the recipe")
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    results["run_dir"] = run  # where it is now (a run folder may have been moved since)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="10k vectors only and short recipe runs (kNN-LM 150 steps, RAG 300 steps)"
    )
    parser.add_argument("--knn-lm-run", default=None, help="read kNN-LM numbers from this recipes/knn_lm.py run")
    parser.add_argument("--rag-run", default=None, help="read RAG numbers from this recipes/rag.py run")
    parser.add_argument("--skip-recipes", action="store_true", help="speed numbers only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import faiss

    sizes = (10_000,) if args.quick else (10_000, 100_000)
    result = {
        "benchmark": "retrieval",
        "quick": args.quick,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "note": "vector-search timings use synthetic clustered embeddings; CPU timings on a shared machine are noisy",
        "vector_search": [vector_search(n, args.seed) for n in sizes],
        "bm25": [bm25_search(n, args.seed) for n in sizes],
    }

    if not args.skip_recipes:
        runs_dir = tempfile.mkdtemp(prefix="zoo-retrieval-bench-")
        common = ["--runs-dir", runs_dir, "--verbose", "0", "--seed", str(args.seed)]
        if args.knn_lm_run:
            knn = read_results(args.knn_lm_run)
        else:
            from zoo.cli import load_recipe

            knn = load_recipe("knn-lm").recipe.run(common + (["--steps", "150"] if args.quick else []))
        new, held = knn["new_domain_test"], knn["heldout"]
        result["knn_lm"] = {
            "run": knn["run_dir"],
            "new_domain": knn["new_domain"],
            "datastore_entries": knn["datastore_entries"],
            "index": knn["datastore_index"],
            "k": knn["k"],
            "lambda": knn["tuned"]["lambda"],
            "temperature": knn["tuned"]["temperature"],
            "heldout_lm_perplexity": round(held["lm_perplexity"], 2),
            "heldout_knn_lm_perplexity": round(held["knn_lm_perplexity_tuned"], 2),
            "new_domain_lm_perplexity": round(new["lm_perplexity"], 2),
            "new_domain_knn_lm_perplexity": round(new["knn_lm_perplexity_tuned"], 2),
            "new_domain_knn_lm_perplexity_paper_defaults": round(new["knn_lm_perplexity_paper_defaults"], 2),
            "new_domain_knn_lm_perplexity_training_text_datastore_only": round(
                new["knn_lm_perplexity_tuned_in_domain_datastore_only"], 2
            ),
            "new_domain_reduction": round(new["reduction_tuned"], 4),
            "heldout_reduction": round(held["reduction_tuned"], 4),
            "target_new_domain_reduction": 0.10,
            "target_met": new["reduction_tuned"] >= 0.10,
        }
        if args.rag_run:
            rag = read_results(args.rag_run)
        else:
            from zoo.cli import load_recipe

            rag = load_recipe("rag").recipe.run(common + (["--steps", "300"] if args.quick else []))
        test = rag["test"]
        result["rag"] = {
            "run": rag["run_dir"],
            "k": rag["k"],
            "method": rag["method"],
            "test_questions": test["count"],
            "test_exact_match_with_retrieval": test["exact_match_with_retrieval"],
            "test_exact_match_without_retrieval": test["exact_match_without_retrieval"],
            "exact_match_gain": round(test["exact_match_with_retrieval"] - test["exact_match_without_retrieval"], 4),
            "retrieval_hit_rate": test["retrieval_hit_rate"],
            "train_exact_match_with_retrieval": rag["train"]["exact_match_with_retrieval"],
            "train_exact_match_without_retrieval": rag["train"]["exact_match_without_retrieval"],
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
