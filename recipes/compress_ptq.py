"""Recipe: post-training quantization of a zoo model to TFLite: float32, dynamic range, float16, int8.

Each mode is written as model-<mode>.tflite and measured on the test digits: accuracy,
size (raw and gzipped) and latency per image; int8 calibrates its activation ranges on
--calibration-samples training images.

Run:
    zoo compress ptq                         # or: python recipes/compress_ptq.py
    zoo compress ptq --modes dynamic int8 float16 --from runs/train-cnn-20260101-120000
"""

import sys

from zoo.compress.baseline import accuracy, add_baseline_args, baseline
from zoo.data.atomic_files import write_bytes_atomic
from zoo.options import positive_int
from zoo.recipe import Recipe

recipe = Recipe(
    "compress-ptq",
    "Post-training quantization to TFLite: float32, dynamic, float16, int8.",
    examples=["zoo compress ptq --modes dynamic int8", "zoo compress ptq --from runs/train-cnn-20260101-120000"],
    training=False,
    command="compress ptq",
)


@recipe.options
def add_options(parser):
    parser.add_argument("--model", choices=("cnn", "vgg16"), default="cnn", help="which zoo model (default: cnn)")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["float32", "dynamic", "float16", "int8"],
        choices=("float32", "dynamic", "float16", "int8"),
        help="TFLite files to write (default: all four)",
    )
    parser.add_argument(
        "--calibration-samples",
        type=positive_int,
        default=200,
        help="training images that calibrate int8 activation ranges (default: 200)",
    )
    add_baseline_args(parser)


@recipe.body
def run_ptq(args, run):
    from zoo.compress import ptq
    from zoo.compress.sizes import bytes_size

    run.name = f"compress-ptq-{args.model}"
    model, (x, y), (x_test, y_test) = baseline(
        args.model,
        args.source,
        args.base_epochs,
        args.batch_size,
        args.seed,
        args.verbose,
        getattr(args, "vgg_weights", None),
    )
    rows = {}
    for mode in args.modes:
        content = ptq.quantize_tflite(model, mode, representative_data=x[: args.calibration_samples])
        write_bytes_atomic(run.file(f"model-{mode}.tflite"), content)
        tflite = ptq.TFLiteModel(content)
        rows[mode] = {
            **bytes_size(content),
            "accuracy": tflite.evaluate(x_test, y_test)["accuracy"],
            "latency_ms": tflite.latency_ms(x_test),
        }
        print(
            f"{mode:>8}: accuracy {rows[mode]['accuracy']:.4f}, {rows[mode]['raw_bytes']:,} bytes, "
            f"{rows[mode]['latency_ms']:.3f} ms/image"
        )
    return run.finish(
        model if args.source is None else None,
        None,
        {"model": args.model, "keras_accuracy": accuracy(model, x_test, y_test), "tflite": rows},
    )


main = recipe.main

if __name__ == "__main__":
    sys.exit(main())
