"""The `zoo` command: one subcommand per recipe and tool.

Each subcommand is a module with a `main(argv=None)` function; it is imported
only when it runs, so `zoo --help` answers at once without starting TensorFlow.

Example:
    $ zoo --help
    $ zoo run                      # the main job
    $ zoo train-cnn --epochs 5
    $ python recipes/train_cnn.py --epochs 5     # the same recipe
"""

import importlib
import sys

# name -> (module with main(argv), one-line help). Order is the order shown.
COMMANDS = {
    "run": ("recipes.run", "the main job: prepare data, tokenizer, pretrain a causal LM, generate, export"),
    "train-cnn": ("recipes.train_cnn", "the tutorial's CNN on scikit-learn digits (28x28)"),
    "train-lstm": ("recipes.train_lstm", "the tutorial's LSTM text generator on the built-in corpus"),
    "train-gan": ("recipes.train_gan", "the tutorial's GAN on digits, fixed to train correctly"),
    "transfer": ("recipes.transfer", "transfer learning: digits 0-4 -> 5-9, and the VGG16 path"),
    "pretrain-clm": ("recipes.pretrain_clm", "pretrain a causal LM (GPT) with every training technique as an option"),
    "pretrain-mlm": ("recipes.pretrain_mlm", "pretrain a masked LM (BERT), optionally with next-sentence prediction"),
    "tune": ("recipes.tune", "KerasTuner search over learning rate, batch size, weight decay and warmup"),
    "finetune-qa": ("recipes.finetune_qa", "fine-tune a pretrained encoder for extractive QA (SQuAD JSON; EM and F1)"),
    "finetune-nli": ("recipes.finetune_nli", "fine-tune for NLI: entailment / neutral / contradiction (accuracy)"),
    "finetune-sentiment": ("recipes.finetune_sentiment", "fine-tune for sentiment (CSV or JSONL; accuracy, macro-F1)"),
    "compress": ("recipes.compress", "prune, quantize (QAT, TFLite PTQ, int8/int4), distill, low-rank, LoRA"),
    "model-parallel": ("recipes.model_parallel", "keras.distribution model parallelism on JAX (LayoutMap over a mesh)"),
    "pipeline-parallel": ("recipes.pipeline_parallel", "a GPipe pipeline-parallel schedule over device stages (teaching)"),
    "retrieve": ("zoo.retrieval.cli", "document store: build a BM25/dense index, query, RAG generation, kNN-LM"),
    "knn-lm": ("recipes.knn_lm", "kNN-LM: a causal LM interpolated with nearest neighbours of its hidden states"),
    "rag": ("recipes.rag", "retrieval-augmented generation: fine-tune to answer from retrieved passages"),
    "explain": ("zoo.llm.sizing.explain", "size, FLOPs and memory of an LLM preset or config"),
    "data": ("zoo.data.cli", "data pipeline: acquire, clean, dedup, tokenizer, stats, prepare"),
    "export": ("zoo.export.cli", "export a run or .keras model for TF Serving (SavedModel) or TFLite"),
}


def _usage():
    lines = [
        "usage: zoo <command> [options]",
        "",
        "A Keras model zoo for learning and practising LLM training.",
        "",
        "commands:",
    ]
    width = max(len(name) for name in COMMANDS)
    for name, (_, help_text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {help_text}")
    lines += ["", "Run `zoo <command> --help` for the options of one command."]
    return "\n".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from zoo import __version__

        print(f"zoo {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f" Did you mean `zoo {close[0]}`?" if close else ""
        print(f"zoo: unknown command {name!r}.{hint} Run `zoo --help` for the list.", file=sys.stderr)
        return 2
    module_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (err.name == module_name or module_name.startswith(err.name + ".")):
            print(f"zoo: command {name!r} is not built yet in this version.", file=sys.stderr)
            return 2
        raise
    result = module.main(rest, prog=f"zoo {name}")
    return 0 if result is None else int(result)


if __name__ == "__main__":
    sys.exit(main())
