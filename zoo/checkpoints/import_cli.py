"""`zoo import PATH`: turn a keras-hub preset or Hugging Face folder into a zoo run folder.

Example:
    $ zoo import ~/checkpoints/bert-base-uncased --task classifier --out runs/bert
    $ zoo finetune-sentiment --pretrained runs/bert --train my.csv --eval my_dev.csv
"""

import argparse
import sys

from zoo.options import class_count


def main(argv=None, prog="zoo import"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Import a checkpoint folder (keras-hub preset or Hugging Face config.json + "
        "safetensors) as a zoo run folder; nothing is downloaded.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  zoo import ckpt/gpt2 --out runs/gpt2\n"
        "  zoo import ckpt/bert-base-uncased --task classifier --num-classes 3 --out runs/bert",
    )
    parser.add_argument("path", help="the checkpoint folder")
    parser.add_argument("--out", help="run folder to write (default: runs/import-<name>-<timestamp>)")
    parser.add_argument(
        "--task",
        "--kind",
        dest="kind",
        choices=("causal", "masked", "classifier", "qa"),
        help="task head (default: the checkpoint's own: causal LM, or masked LM for BERT)",
    )
    parser.add_argument("--num-classes", type=class_count, help="labels of a classifier head")
    args = parser.parse_args(argv)
    from zoo.checkpoints.errors import CheckpointError
    from zoo.checkpoints.run_folder import import_checkpoint

    try:
        out = import_checkpoint(args.path, out=args.out, kind=args.kind, num_classes=args.num_classes)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"zoo import: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0
