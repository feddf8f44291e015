"""Recipe: TF-MOT quantization-aware training of a zoo model, then an int8 TFLite file.

The CNN (or the VGG16 transfer model, or only some of its layers) is rebuilt in tf_keras,
fake-quantized and fine-tuned, converted to an int8 TFLite file and compared with the float32
TFLite file: accuracy, size and latency. The QAT-tuned float weights come back as model.keras.

Run:
    zoo compress qat                         # or: python recipes/compress_qat.py
    zoo compress qat --model vgg16 --only dense probabilities
"""

import sys

from zoo.compress.baseline import add_baseline_args, baseline
from zoo.data.atomic_files import write_bytes_atomic
from zoo.options import positive_float, positive_int
from zoo.recipe import Recipe
from zoo.runs import write_history_csv

recipe = Recipe(
    "compress-qat",
    "TF-MOT quantization-aware training -> int8 TFLite.",
    examples=["zoo compress qat --epochs 1", "zoo compress qat --model vgg16 --only dense probabilities"],
    training=False,
    command="compress qat",
)


@recipe.options
def add_options(parser):
    parser.add_argument("--model", choices=("cnn", "vgg16"), default="cnn", help="which zoo model (default: cnn)")
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="LAYER",
        help="quantize only these layers (e.g. the VGG16 head: dense probabilities)",
    )
    parser.add_argument("--epochs", type=positive_int, default=2, help="QAT fine-tuning epochs (default: 2)")
    parser.add_argument("--learning-rate", type=positive_float, default=1e-4, help="QAT learning rate (default: 1e-4)")
    add_baseline_args(parser)


@recipe.body
def run_qat(args, run):
    from zoo.compress import ptq, qat
    from zoo.compress.bridge import copy_weights_back
    from zoo.compress.sizes import bytes_size
    from zoo.train.tensorboard import StepScalars

    run.name = f"compress-qat-{args.model}"
    model, (x, y), (x_test, y_test) = baseline(
        args.model,
        args.source,
        args.base_epochs,
        args.batch_size,
        args.seed,
        args.verbose,
        getattr(args, "vgg_weights", None),
    )
    float_content = ptq.quantize_tflite(model, "float32")
    float_tflite = ptq.TFLiteModel(float_content)
    result = qat.quantize_aware_train(
        model,
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        only=args.only,
        validation_data=(x_test, y_test),
        verbose=args.verbose,
        callbacks=[StepScalars(run.summaries)],
    )
    content = qat.qat_tflite(result.tf_keras_model)
    write_bytes_atomic(run.file("qat_int8.tflite"), content)
    write_bytes_atomic(run.file("float32.tflite"), float_content)
    int8 = ptq.TFLiteModel(content)
    copy_weights_back(result.tf_keras_model, model)  # the QAT-tuned float weights, as a Keras 3 model
    float_size, int8_size = bytes_size(float_content), bytes_size(content)
    results = {
        "model": args.model,
        "float32_tflite": {
            **float_size,
            "accuracy": float_tflite.evaluate(x_test, y_test)["accuracy"],
            "latency_ms": float_tflite.latency_ms(x_test),
        },
        "qat_int8_tflite": {
            **int8_size,
            "accuracy": int8.evaluate(x_test, y_test)["accuracy"],
            "latency_ms": int8.latency_ms(x_test),
        },
        "size_ratio": float_size["raw_bytes"] / int8_size["raw_bytes"],
        "quantized_layers": result.quantized,
        "skipped_layers": result.skipped,
    }
    write_history_csv(run.file("history.csv"), result.history)
    results = run.finish(model, result.history, results, plot_title=f"QAT of {args.model}")
    print(
        f"float32 TFLite: accuracy {results['float32_tflite']['accuracy']:.4f}, "
        f"{float_size['raw_bytes']:,} bytes; QAT int8: accuracy {results['qat_int8_tflite']['accuracy']:.4f}, "
        f"{int8_size['raw_bytes']:,} bytes ({results['size_ratio']:.2f}x smaller)"
    )
    return results


main = recipe.main

if __name__ == "__main__":
    sys.exit(main())
