"""The `zoo` command: one subcommand per recipe and tool, `zoo compress <technique>` nested.

A recipe is `recipes/<name>.py` next to the zoo package (a source checkout) with a
`main(argv, prog)`; a tool is a zoo module with the same `main`. Either is loaded
only when it runs, and the parsers import no TensorFlow, so `zoo <command> --help`
answers at once. Before a command runs, TensorFlow's C++ start-up lines (absl
warnings, "could not find cuda drivers", the cuInit error on machines without a
GPU) are kept out of the terminal unless TF_CPP_MIN_LOG_LEVEL is set by the user.

Example:
    $ zoo --help
    $ zoo run                      # the main job
    $ zoo train-cnn --epochs 5
    $ zoo compress lora --rank 4
    $ python recipes/train_cnn.py --epochs 5     # the same recipe
"""

import importlib
import importlib.util
import sys
from pathlib import Path

# The folder of recipe scripts: <checkout>/recipes, beside the zoo package.
RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"

# name -> (target, one-line help); a target is "recipe:<file stem>" or a zoo module with main(argv, prog).
# A dict of such entries is a nested command (zoo compress <technique>). Order is the order shown.
COMPRESS = {
    "prune": ("recipe:compress_prune", "TF-MOT magnitude pruning (PolynomialDecay/ConstantSparsity, 2:4), fine-tuned"),
    "qat": ("recipe:compress_qat", "TF-MOT quantization-aware training -> int8 TFLite"),
    "ptq": ("recipe:compress_ptq", "post-training quantization to TFLite: float32, dynamic, float16, int8"),
    "quantize-llm": ("recipe:quantize_llm", "Keras int8/int4 quantization of the LLM with perplexity"),
    "distill": ("recipe:distill", "knowledge distillation (teacher -> student)"),
    "low-rank": ("recipe:low_rank", "low-rank (truncated SVD) factorization of Dense kernels"),
    "lora": ("recipe:lora", "LoRA adapters for fine-tuning the LLM"),
}
COMMANDS = {
    "run": ("recipe:run", "the main job: prepare data, tokenizer, pretrain a causal LM, generate, export"),
    "train-cnn": ("recipe:train_cnn", "the tutorial's CNN on scikit-learn digits (28x28)"),
    "train-lstm": ("recipe:train_lstm", "the tutorial's LSTM text generator on the built-in corpus"),
    "train-gan": ("recipe:train_gan", "the tutorial's GAN on digits, fixed to train correctly"),
    "transfer": ("recipe:transfer", "transfer learning: digits 0-4 -> 5-9, and the VGG16 path"),
    "pretrain-clm": ("recipe:pretrain_clm", "pretrain a causal LM (GPT) with every training technique as an option"),
    "pretrain-mlm": ("recipe:pretrain_mlm", "pretrain a masked LM (BERT), optionally with next-sentence prediction"),
    "tune": ("recipe:tune", "KerasTuner search over learning rate, batch size, weight decay and warmup"),
    "finetune-qa": ("recipe:finetune_qa", "fine-tune a pretrained encoder for extractive QA (SQuAD JSON; EM and F1)"),
    "finetune-nli": ("recipe:finetune_nli", "fine-tune for NLI: entailment / neutral / contradiction (accuracy)"),
    "finetune-sentiment": ("recipe:finetune_sentiment", "fine-tune for sentiment (CSV or JSONL; accuracy, macro-F1)"),
    "compress": (COMPRESS, "prune, quantize (QAT, TFLite PTQ, int8/int4), distill, low-rank, LoRA"),
    "model-parallel": ("recipe:model_parallel", "keras.distribution model parallelism on JAX (LayoutMap over a mesh)"),
    "pipeline-parallel": ("recipe:pipeline_parallel", "a GPipe pipeline-parallel schedule over device stages"),
    "retrieve": ("zoo.retrieval.cli", "document store: build a BM25/dense index, query, RAG generation, kNN-LM"),
    "knn-lm": ("recipe:knn_lm", "kNN-LM: a causal LM interpolated with nearest neighbours of its hidden states"),
    "rag": ("recipe:rag", "retrieval-augmented generation: fine-tune to answer from retrieved passages"),
    "sft": ("recipe:sft", "instruction tuning with a chat template; loss only on the assistant's tokens"),
    "dpo": ("recipe:dpo", "Direct Preference Optimization on chosen/rejected pairs against a frozen reference"),
    "chat": (
        "zoo.dialogue.chat_cli",
        "multi-turn chat in the terminal with an instruction-tuned run, streaming tokens",
    ),
    "reason": (
        "recipe:reason",
        "reasoning on arithmetic: direct answer vs scratchpad (+ self-consistency) vs calculator tool",
    ),
    "explain": ("zoo.llm.sizing.explain", "size, FLOPs and memory of an LLM preset or config"),
    "pictures": (
        "zoo.pictures.cli",
        "draw the docs' pictures (attention masks, GPipe, tokenizers, ...) into docs/images",
    ),
    "data": ("zoo.data.cli", "data pipeline: acquire, clean, dedup, tokenizer, stats, prepare"),
    "export": ("zoo.export.cli", "export a run or .keras model for TF Serving (SavedModel) or TFLite"),
    "import": ("zoo.checkpoints.import_cli", "import a keras-hub preset or Hugging Face folder as a zoo run folder"),
    "generate": ("zoo.checkpoints.generate_cli", "continue a text prompt with a run folder or checkpoint folder"),
}
EXAMPLES = ["zoo run --steps 200", "zoo pretrain-clm --steps 20 --eval-every 10", "zoo compress lora --help"]


def load_recipe(name):
    """The module of a recipe, by command or file name: `load_recipe("train-cnn")` is recipes/train_cnn.py.

    In a source checkout the file next to the zoo package is loaded; otherwise the recipe
    must be importable as `zoo.recipes.<name>`.

    Example:
        >>> load_recipe("train-cnn").recipe.name
        'train-cnn'
    """
    stem = name.replace("-", "_")
    module_name = f"zoo.recipes.{stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = RECIPES_DIR / f"{stem}.py"
    if not path.is_file():
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            raise ModuleNotFoundError(
                f"no recipe {name!r}: {path} is missing and zoo.recipes has no {stem}", name=module_name
            ) from err
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _load(target):
    if target.startswith("recipe:"):
        return load_recipe(target.split(":", 1)[1])
    return importlib.import_module(target)


def _usage(table, prog, title):
    lines = [f"usage: {prog} <command> [options]", "", title, "", "commands:"]
    width = max(len(name) for name in table)
    for name, (_, help_text) in table.items():
        lines.append(f"  {name.ljust(width)}  {help_text}")
    lines += ["", f"Run `{prog} <command> --help` for the options of one command.", "", "examples:"]
    examples = (
        EXAMPLES
        if table is COMMANDS
        else [f"{prog} prune --sparsity 0.5", f"{prog} quantize-llm --steps 50", f"{prog} lora --help"]
    )
    lines += [f"  {line}" for line in examples]
    return "\n".join(lines)


def _wants_help(argv):
    return any(arg in ("-h", "--help") for arg in argv)


def main(argv=None, table=None, prog="zoo"):
    argv = list(sys.argv[1:] if argv is None else argv)
    table = COMMANDS if table is None else table
    title = (
        "A Keras model zoo for learning and practising LLM training."
        if table is COMMANDS
        else "Make a zoo model smaller and faster; each technique writes runs/compress-<technique>-<timestamp>/."
    )
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(table, prog, title))
        return 0 if argv else (0 if table is COMMANDS else 2)
    if argv[0] in ("-V", "--version") and table is COMMANDS:
        from zoo import __version__

        print(f"zoo {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, table, n=1)
        hint = f" Did you mean `{prog} {close[0]}`?" if close else ""
        print(f"{prog}: unknown command {name!r}.{hint} Run `{prog} --help` for the list.", file=sys.stderr)
        return 2
    target, _ = table[name]
    if isinstance(target, dict):
        return main(rest, target, f"{prog} {name}")
    if not _wants_help(rest):
        from zoo.errors import UsageError
        from zoo.parallel.backend import select_backend
        from zoo.quiet import quiet_tensorflow

        try:
            # --backend jax must reach KERAS_BACKEND before anything imports Keras.
            select_backend(rest)
        except UsageError as err:
            print(f"{prog} {name}: error: {err}", file=sys.stderr)
            return 2
        quiet_tensorflow()
    try:
        module = _load(target)
    except ModuleNotFoundError as err:
        if err.name and (err.name.startswith("zoo.recipes.") or target == err.name):
            print(f"{prog}: command {name!r} is not available here ({err}).", file=sys.stderr)
            return 2
        raise
    result = module.main(rest, prog=f"{prog} {name}")
    return 0 if result is None else int(result)


def entry_point():
    """The installed `zoo` script: `main()`, quiet when its output is piped into a command that stops reading."""
    try:
        return main()
    except BrokenPipeError:
        # `zoo compress --help | head`: the reader left; send the rest nowhere instead of a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(entry_point())
