"""`zoo generate RUN_OR_FOLDER "prompt"`: print the prompt and its continuation.

RUN_OR_FOLDER is a run folder (model.keras + tokenizer/, e.g. from `zoo import`
or `zoo pretrain-clm`), a .keras file next to its tokenizer/, or a checkpoint
folder read directly with from_pretrained.

Example:
    $ zoo generate runs/gpt2 "The cat sat" --max-length 30
"""

import argparse
import sys


def main(argv=None, prog="zoo generate"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Continue a text prompt with a causal LM (prints prompt + continuation).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='examples:\n  zoo generate runs/gpt2 "The cat sat" --max-length 30\n'
        '  zoo generate ckpt/SmolLM2-135M "Once upon a time" --sampler top_p --seed 1',
    )
    parser.add_argument("model", help="run folder, .keras file or checkpoint folder")
    parser.add_argument("prompt", help="the text to continue")
    parser.add_argument("--max-length", type=int, default=64, help="prompt + new tokens (default: 64)")
    parser.add_argument("--sampler", choices=("greedy", "top_k", "top_p", "random"), default="greedy")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from zoo.checkpoints.errors import CheckpointError
    from zoo.checkpoints.run_folder import load_run_model

    try:
        model = load_run_model(args.model)
        if not hasattr(model, "call_with_cache"):
            raise ValueError(f"{args.model} holds a {type(model).__name__}; text generation needs a causal LM")
        text = model.generate(
            args.prompt, max_length=args.max_length, sampler=args.sampler, temperature=args.temperature, seed=args.seed
        )
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"zoo generate: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    print(text)
    return 0
