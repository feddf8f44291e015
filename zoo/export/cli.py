"""`zoo export`: turn a run folder or .keras file into a versioned SavedModel (TF Serving) or a TFLite file.

Example:
    $ zoo export runs/train-cnn-20260101-120000                 # -> saved_models/cnn/1/
    $ zoo export runs/train-cnn-20260101-120000 --format tflite # -> saved_models/cnn/tflite/1/model.tflite
    $ zoo export runs/train-cnn-20260101-120000 --format litert # the same place, written by Keras' own export
    $ zoo export runs/pretrain-clm-<stamp> --format litert-generate   # on-device generation with a KV cache
    $ zoo export model.keras --name tiny_lm --tokenizer data/corpus-builtin/tokenizer --version 3
"""

import argparse
import json
import sys

from zoo.errors import EnvironmentFault
from zoo.export.versions import MAX_VERSION


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog or "zoo export",
        description="Export a trained model for TF Serving (a versioned SavedModel) or for TFLite.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  zoo export runs/train-cnn-20260101-120000\n"
        "  zoo export runs/train-cnn-20260101-120000 --format tflite",
    )
    parser.add_argument("source", help="a run folder (runs/<recipe>-<timestamp>/) or a .keras model file")
    parser.add_argument("--name", help="the served model's name (default: the model's Keras name, e.g. cnn)")
    parser.add_argument(
        "--version",
        type=int,
        help="version number to write; it must not exist (default: next free)",
    )
    parser.add_argument(
        "--format",
        choices=("saved_model", "tflite", "litert", "litert-generate"),
        default="saved_model",
        help="saved_model for TF Serving (default); tflite (zoo's signatures, TF's converter) or litert "
        "(Keras' model.export, falling back to tflite's converter) for ai_edge_litert; litert-generate: a causal "
        "LM with prefill/decode signatures and a KV cache",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="litert-generate: prompt + new tokens the file holds (its KV cache length; default: the model's)",
    )
    parser.add_argument(
        "--output",
        default="saved_models",
        help="model base folder: writes <output>/<name>/<version>/ (default: saved_models)",
    )
    parser.add_argument(
        "--tokenizer",
        help="SentencePiece tokenizer folder to ship with a causal LM (default: the run folder's tokenizer/, if any)",
    )
    parser.add_argument(
        "--quantization",
        choices=("none", "float16", "dynamic"),
        default="none",
        help="TFLite weights: float32 (none), float16, or int8 dynamic range (default: none)",
    )
    parser.add_argument(
        "--xla-generate",
        action="store_true",
        help="a causal LM also gets a `generate_xla` signature, its decode loop compiled with XLA: several "
        "times faster per token on CPU, for servers that run XLA (TF Serving: --xla_cpu_compilation_enabled)",
    )
    parser.add_argument(
        "--no-check", action="store_true", help="skip comparing the export with the Keras model before publishing it"
    )
    return parser


def main(argv=None, prog=None):
    """Run `zoo export`; prints a JSON summary and returns 0, or prints the error and returns 2 (1 for a full
    disk or read-only output folder)."""
    args = build_parser(prog).parse_args(argv)
    if args.version is not None and not 1 <= args.version <= MAX_VERSION:  # TF Serving reads versions as int64
        print(
            f"zoo export: --version must be a positive integer up to {MAX_VERSION}, got {args.version}.",
            file=sys.stderr,
        )
        return 2
    if args.quantization != "none" and args.format not in ("tflite", "litert"):
        print("zoo export: --quantization applies to --format tflite and litert only.", file=sys.stderr)
        return 2
    if args.max_length is not None and (args.format != "litert-generate" or args.max_length < 2):
        print("zoo export: --max-length (at least 2) applies to --format litert-generate only.", file=sys.stderr)
        return 2
    # TensorFlow starts only now, so `zoo export --help` answers at once.
    try:
        if args.format == "litert":
            from zoo.export.litert import export_litert

            result = export_litert(
                args.source,
                args.output,
                name=args.name,
                version=args.version,
                quantization=args.quantization,
                tokenizer_dir=args.tokenizer,
                check=not args.no_check,
            )
        elif args.format == "litert-generate":
            from zoo.export.litert_generate import export_litert_generate

            result = export_litert_generate(
                args.source,
                args.output,
                name=args.name,
                version=args.version,
                max_length=args.max_length,
                tokenizer_dir=args.tokenizer,
                check=not args.no_check,
            )
        elif args.format == "tflite":
            from zoo.export.tflite import export_tflite

            result = export_tflite(
                args.source,
                args.output,
                name=args.name,
                version=args.version,
                quantization=args.quantization,
                tokenizer_dir=args.tokenizer,
                check=not args.no_check,
            )
        else:
            from zoo.export.saved_model import export_saved_model

            result = export_saved_model(
                args.source,
                args.output,
                name=args.name,
                version=args.version,
                tokenizer_dir=args.tokenizer,
                check=not args.no_check,
                xla_generate=args.xla_generate,
            )
    except EnvironmentFault as err:  # a full disk or read-only output folder: the machine, not the options
        print(f"zoo export: error: {err}", file=sys.stderr)
        return 1
    except (FileNotFoundError, FileExistsError, ValueError) as err:  # TraceError is a ValueError
        print(f"zoo export: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a read-only or full output folder: the machine's fault, status 1
        where = f" {err.filename}" if err.filename else ""
        print(f"zoo export: cannot write{where}: {err.strerror or err}; check the output folder", file=sys.stderr)
        return 1
    summary = dict(vars(result))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
