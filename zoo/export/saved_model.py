"""Export a zoo model as a versioned SavedModel that TF Serving loads as it is.

`export_saved_model` writes `<output>/<name>/<version>/` (TF Serving's layout):
the signatures of `zoo.export.signatures`, the text files a client needs as
SavedModel assets (the LLM's `sentencepiece.model` and `tokenizer.json`, the
LSTM's `vocabulary.json`), and `assets.extra/zoo_export.json`, a manifest of
the signatures and of the check below. Before the version folder appears, the
written SavedModel is loaded back and every signature is compared with the
Keras model on sample inputs; an export that disagrees is never published.
A model with NaN or infinite weights (a diverged run) is refused before any
tracing, and a full disk or read-only output folder is one line naming the path.

Why not `model.export(path, format="tf_saved_model")` as it is: it names the
outputs `output_0`, offers one endpoint only, and has no way to ship assets.
It is a thin wrapper over `tf.saved_model.save` with `tf.function` endpoints,
and so is this module (with `autograph=False`, as Keras does).

Example:
    >>> result = export_saved_model("runs/train-cnn-20260101-120000")   # doctest: +SKIP
    >>> result.path, sorted(result.signatures)                          # doctest: +SKIP
    ('saved_models/cnn/1', ['serving_default'])
"""

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf

from zoo.data.atomic_files import check_free_space, writing_to
from zoo.export.model_source import ExportSource, load_export_source
from zoo.export.reference import keras_outputs, max_differences, sample_inputs
from zoo.export.signatures import model_kind, trace_signatures
from zoo.export.versions import check_model_name, check_version, versioned_folder
from zoo.train.checkpoints import weights_bytes

MANIFEST = os.path.join("assets.extra", "zoo_export.json")
# Float outputs may differ from Keras by rounding only; ids and labels must match exactly.
TOLERANCE = 1e-4


class ExportCheckError(RuntimeError):
    """The written SavedModel does not answer like the Keras model; nothing was published."""


@dataclasses.dataclass
class ExportResult:
    """Where an export went and what it contains."""

    path: str
    name: str
    version: int
    kind: str
    signatures: dict  # name -> {"inputs": {...}, "outputs": {...}}
    max_abs_diff: dict  # signature -> {output: max |keras - saved_model|}
    size_bytes: int


def check_finite_weights(model):
    """Raise ValueError when a weight of `model` holds NaN or infinity: a diverged model is never published.

    Example:
        >>> import keras, numpy as np
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> _ = model.layers[0].kernel.assign(np.full((2, 1), np.nan, "float32"))
        >>> check_finite_weights(model)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Model 'sequential...' has NaN weights (1 of 2 weight tensors are not finite, e.g. ...kernel)...
    """
    bad = []
    for weight in model.weights:
        value = np.asarray(keras.ops.convert_to_numpy(weight))
        if value.dtype.kind not in "iub" and not np.all(np.isfinite(value.astype(np.float32))):
            bad.append(weight.path)
    if bad:
        raise ValueError(
            f"Model {model.name!r} has NaN weights ({len(bad)} of {len(model.weights)} weight tensors are not "
            f"finite, e.g. {bad[0]}): its training diverged, so it was not exported. Export an earlier checkpoint, "
            "or train again with a lower --learning-rate or with --clipnorm."
        )


def tokenizer_assets(tokenizer_dir, model):
    """The files of a SentencePiece tokenizer folder to ship, after checking they fit the model."""
    config = getattr(model, "llm_config", None)
    if config is None:
        raise ValueError(
            f"A tokenizer ({tokenizer_dir}) goes with a zoo LLM, but {model.name!r} has no token vocabulary "
            "of its own; export it without --tokenizer."
        )
    meta_file = os.path.join(tokenizer_dir, "tokenizer.json")
    model_file = os.path.join(tokenizer_dir, "sentencepiece.model")
    checkpoint = _checkpoint_tokenizer_assets(tokenizer_dir, meta_file, config)
    if checkpoint is not None:
        return checkpoint
    if not os.path.isfile(meta_file) or not os.path.isfile(model_file):
        raise ValueError(
            f"{tokenizer_dir} is not a SentencePiece tokenizer folder (it needs tokenizer.json and "
            "sentencepiece.model). Train one with `zoo data tokenizer --kind sentencepiece-unigram`: serving "
            "clients tokenize with the sentencepiece library, which reads that model file."
        )
    with open(meta_file, encoding="utf-8") as f:
        meta = json.load(f)
    size = meta.get("vocabulary_size")
    if isinstance(size, int) and size > config.vocab_size:
        raise ValueError(
            f"The tokenizer in {tokenizer_dir} has {size} tokens but the model's vocab_size is {config.vocab_size}: "
            "its ids would fall outside the model. Export with the tokenizer the model was trained with."
        )
    return [model_file, meta_file], meta.get("special_tokens", {}).get("</s>")


def _checkpoint_tokenizer_assets(tokenizer_dir, meta_file, config):
    """(files, end id) of an imported checkpoint's tokenizer folder (zoo import), or None for zoo's own."""
    if not os.path.isfile(meta_file):
        return None
    with open(meta_file, encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("kind") != "checkpoint":
        return None
    if meta.get("vocabulary_size", 0) > config.vocab_size:
        raise ValueError(
            f"The tokenizer in {tokenizer_dir} has {meta['vocabulary_size']} tokens but the model's "
            f"vocab_size is {config.vocab_size}. Export with the tokenizer the model was imported with."
        )
    files_dir = os.path.join(tokenizer_dir, meta.get("folder", "checkpoint"))
    files = sorted(os.path.join(files_dir, name) for name in os.listdir(files_dir))
    return [*files, meta_file], (meta.get("special_ids") or {}).get("eos")


def export_assets(source, kind):
    """(files to ship beside the model, the LM's stop token id or None) for an ExportSource."""
    assets, stop_token_id = [], None
    if source.tokenizer_dir is not None:
        assets, end_token_id = tokenizer_assets(source.tokenizer_dir, source.model)
        # A causal LM stops where a document ends; other LLM tasks only need the tokenizer.
        stop_token_id = end_token_id if kind == "causal_lm" else None
    if source.vocabulary_file is not None:
        assets.append(source.vocabulary_file)
    template = chat_template_file(source)
    if template is not None:
        # An instruction-tuned model is prompted through its chat template; a served one must be prompted the same.
        assets.append(template)
    return assets, stop_token_id


def chat_template_file(source):
    """The chat_template.json beside an ExportSource's model file (written by zoo sft / zoo dpo), or None."""
    if source.path is None:
        return None
    path = os.path.join(os.path.dirname(os.path.abspath(source.path)), "chat_template.json")
    return path if os.path.isfile(path) else None


def _read_json(path):
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def describe_signatures(concrete):
    """{signature: {"inputs": {name: {dtype, shape}}, "outputs": {...}}} from traced functions."""

    def spec(s):
        return {"dtype": s.dtype.name, "shape": [None if d is None else int(d) for d in s.shape]}

    result = {}
    for name, fn in concrete.items():
        args, kwargs = fn.structured_input_signature
        inputs = {**{s.name: s for s in args}, **kwargs}  # positional specs carry their signature names
        result[name] = {
            "inputs": {k: spec(v) for k, v in sorted(inputs.items())},
            "outputs": {k: spec(v) for k, v in sorted(fn.structured_outputs.items())},
        }
    return result


def build_serving_module(model, kind, assets=(), stop_token_id=None, batch_size=None, xla_generate=False):
    """A `tf.Module` holding the traced signatures, the variables they read and the asset files."""
    concrete = trace_signatures(
        model, kind, stop_token_id=stop_token_id, batch_size=batch_size, xla_generate=xla_generate
    )
    root = tf.Module()
    # Only the variables the signatures read are saved (a GAN's discriminator stays behind).
    used = {id(v): v for fn in concrete.values() for v in fn.variables}
    root.serving_variables = list(used.values())
    for name, fn in concrete.items():
        setattr(root, f"signature_{name}", fn)
    # tf.saved_model.Asset copies each file into <version>/assets/ and keeps its name.
    root.assets = [tf.saved_model.Asset(path) for path in assets]
    return root, concrete


def check_saved_model(path, model, kind, stop_token_id=None, tolerance=TOLERANCE):
    """Load the SavedModel at `path`, run every signature on sample inputs; {sig: {output: diff}}."""
    loaded = tf.saved_model.load(path)
    report = {}
    for name, fn in loaded.signatures.items():
        if name == "serving_default" and kind == "causal_lm":
            continue  # the same function as `generate`
        inputs = sample_inputs(model, kind, name)
        expected = keras_outputs(model, kind, name, inputs, stop_token_id=stop_token_id)
        actual = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}
        report[name] = diffs = max_differences(expected, actual)
        for output, diff in diffs.items():
            exact = not np.issubdtype(np.asarray(expected[output]).dtype, np.floating)
            if diff > (0 if exact else tolerance):
                raise ExportCheckError(
                    f"The exported {name!r} signature's {output!r} differs from the Keras model by {diff:g} "
                    f"(allowed: {0 if exact else tolerance}); the export was not published. "
                    "This is a bug in the model's serving path: please report it with the model."
                )
    return report


def folder_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def export_saved_model(
    source, output="saved_models", name=None, version=None, tokenizer_dir=None, check=True, xla_generate=False
):
    """Export a run folder, .keras file or Keras model to `<output>/<name>/<version>/`.

    Args:
        source: a run folder, a .keras path, a Keras model or an `ExportSource`.
        output: the model base folder TF Serving watches the children of.
        name: the served model's name (default: the model's Keras name).
        version: a positive integer that must not exist yet (default: the next one).
        tokenizer_dir: the SentencePiece tokenizer folder of a causal LM (default: the run's own).
        check: compare the written SavedModel with the Keras model before publishing it.
        xla_generate: a causal LM also gets `generate_xla`, its decode loop compiled with XLA (the server
            must run XLA: TF Serving on CPU needs `--xla_cpu_compilation_enabled`).

    Returns:
        An `ExportResult`.
    """
    from zoo.parallel.backend import require_tensorflow

    require_tensorflow(
        "SavedModel export for TF Serving",
        "The run folder is the same on both backends: export it from a TensorFlow process, "
        "e.g. `zoo export RUN` without --backend jax or KERAS_BACKEND=jax.",
    )
    source = resolve_source(source, name, tokenizer_dir)
    check_model_name(source.name)  # before any tracing: a bad name or version wastes no time
    if version is not None:
        check_version(version)
    model = source.model
    check_finite_weights(model)
    kind = model_kind(model)
    assets, stop_token_id = export_assets(source, kind)
    root, concrete = build_serving_module(model, kind, assets, stop_token_id, xla_generate=xla_generate)
    signatures = describe_signatures(concrete)
    # TensorFlow's writer leaves a half-written variables file on a full disk: refuse before writing.
    check_free_space(output, int(weights_bytes(model) * 1.05) + sum(map(os.path.getsize, assets)) + (4 << 20))
    with versioned_folder(output, source.name, version) as (tmp, version):
        with writing_to(os.path.join(output, source.name, str(version))):
            tf.saved_model.save(root, tmp, signatures=concrete)
        report = check_saved_model(tmp, model, kind, stop_token_id) if check else {}
        manifest = {
            "name": source.name,
            "version": version,
            "kind": kind,
            "source": source.path,
            "signatures": signatures,
            "assets": [os.path.basename(p) for p in assets],
            "stop_token_id": stop_token_id,
            "chat_template": _read_json(chat_template_file(source)),
            "max_abs_diff_vs_keras": report,
            "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__,
        }
        with writing_to(os.path.join(output, source.name, str(version), MANIFEST)):
            os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
            with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=2)
        size = folder_size(tmp)
    path = os.path.join(output, source.name, str(version))
    return ExportResult(path, source.name, version, kind, signatures, report, size)


def resolve_source(source, name=None, tokenizer_dir=None):
    """An `ExportSource` from a path, a Keras model or an ExportSource."""
    if isinstance(source, ExportSource):
        if name:
            source.name = name
        if tokenizer_dir:
            source.tokenizer_dir = tokenizer_dir
        return source
    if isinstance(source, keras.Model):
        from zoo.export.model_source import default_name

        return ExportSource(model=source, name=name or default_name(source), tokenizer_dir=tokenizer_dir)
    return load_export_source(os.fspath(source), name=name, tokenizer_dir=tokenizer_dir)
