"""Check exported SavedModels the way a server sees them: in a fresh process with TensorFlow only.

Run it as a script (not as `zoo.export.verify`), so that neither zoo nor Keras
code is imported: whatever works here works without this repository. For each
SavedModel it

- loads it with `tf.saved_model.load` and lists its signatures;
- runs `saved_model_cli show --all` (the tool's own entry point) on it;
- scans every op of the graph and its functions for ops outside core
  TensorFlow: ops the TensorFlow op registry of this process does not know
  (tensorflow-text's, for instance, which TF Serving lacks) and XLA-only ops;
- calls signatures on saved inputs and compares them with saved expected
  outputs (`cases`), and answers saved TF Serving REST request bodies the way
  TF Serving's `:predict` does (`requests`).

Usage:
    python zoo/export/verify.py saved_models/cnn/1            # signatures and op scan, as JSON
    python zoo/export/verify.py --plan plan.json              # cases and requests as well

A plan is JSON: {"saved_models": [{"path": DIR, "cases": [{"signature": NAME,
"inputs": X.npz, "expected": Y.npz, "tolerance": 1e-4}], "requests": [{"body":
REQUEST.json, "response": RESPONSE.json}]}]}.

Example:
    >>> report = verify_saved_model("saved_models/cnn/1")    # doctest: +SKIP
    >>> report["non_core_ops"], report["signatures"]         # doctest: +SKIP
    ([], ['serving_default'])
"""

import argparse
import contextlib
import io
import json
import os
import sys

# Run as a script, this folder is first on sys.path, and its tflite.py, client.py, ...
# would shadow same-named modules that TensorFlow or numpy import. Only the library path stays.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402
from tensorflow.python.framework import op_def_registry  # noqa: E402


def graph_ops(saved_model_dir):
    """{op type: count} over the graph and every function of a SavedModel."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    counts = {}
    for meta_graph in proto.meta_graphs:
        library = meta_graph.graph_def.library.function
        # A node may call a library function by name; that is a call, not an op to check.
        functions = {function.signature.name for function in library}
        nodes = list(meta_graph.graph_def.node)
        for function in library:
            nodes.extend(function.node_def)
        for node in nodes:
            if node.op not in functions:
                counts[node.op] = counts.get(node.op, 0) + 1
    return counts


def non_core_ops(ops):
    """Ops a plain TensorFlow server cannot run: unregistered here, or compiled by XLA only."""
    return sorted(op for op in ops if op_def_registry.get(op) is None or op.startswith("Xla"))


def saved_model_cli_show_all(saved_model_dir):
    """The text `saved_model_cli show --all --dir DIR` prints, from the tool's own entry point."""
    from tensorflow.python.tools import saved_model_cli

    argv, sys.argv = sys.argv, ["saved_model_cli", "show", "--all", "--dir", saved_model_dir]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            saved_model_cli.main()
    except SystemExit as done:  # absl's app.run ends with sys.exit
        if done.code not in (0, None):
            raise RuntimeError(f"saved_model_cli failed on {saved_model_dir}: exit {done.code}\n{out.getvalue()}")
    finally:
        sys.argv = argv
    return out.getvalue()


def _input_specs(fn):
    args, kwargs = fn.structured_input_signature
    return {**{spec.name: spec for spec in args}, **kwargs}


def _tensor(value, spec, name):
    array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    if not spec.shape.is_compatible_with(array.shape):
        raise ValueError(f"Input {name!r} has shape {list(array.shape)}, the signature wants {spec.shape}.")
    return tf.constant(array)


def rest_predict(loaded, body):
    """Answer a TF Serving REST `:predict` body with a loaded SavedModel, as TF Serving does.

    Row format {"instances": [...]} answers {"predictions": [...]}; columnar
    {"inputs": {...}} answers {"outputs": ...}. A single output is returned bare.
    """
    name = body.get("signature_name", "serving_default")
    if name not in loaded.signatures:
        raise ValueError(
            f"Serving signature name: {name!r} not found in signature def; have {sorted(loaded.signatures)}."
        )
    fn = loaded.signatures[name]
    specs = _input_specs(fn)
    if ("instances" in body) == ("inputs" in body):
        raise ValueError("A request body needs exactly one of 'instances' (row format) or 'inputs' (columnar format).")
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise ValueError("'instances' must be a non-empty list.")
        if all(isinstance(row, dict) for row in rows):
            keys = {key for row in rows for key in row}
            if any(set(row) != keys for row in rows):
                raise ValueError(f"Every instance must name the same inputs {sorted(specs)}.")
            columns = {key: [row[key] for row in rows] for key in keys}
        elif len(specs) == 1:
            columns = {next(iter(specs)): rows}
        else:
            raise ValueError(f"With several inputs {sorted(specs)}, each instance must be an object naming them.")
    else:
        given = body["inputs"]
        columns = given if isinstance(given, dict) else {next(iter(specs)): given}
    if set(columns) != set(specs):
        raise ValueError(f"The signature {name!r} takes inputs {sorted(specs)}; the request gave {sorted(columns)}.")
    outputs = fn(**{key: _tensor(columns[key], specs[key], key) for key in specs})
    outputs = {key: value.numpy() for key, value in outputs.items()}
    if "instances" in body:
        if len(outputs) == 1:
            return {"predictions": next(iter(outputs.values())).tolist()}
        batch = len(next(iter(outputs.values())))
        return {"predictions": [{key: value[i].tolist() for key, value in outputs.items()} for i in range(batch)]}
    if len(outputs) == 1:
        return {"outputs": next(iter(outputs.values())).tolist()}
    return {"outputs": {key: value.tolist() for key, value in outputs.items()}}


def verify_saved_model(path, cases=(), requests=()):
    """The report for one SavedModel folder (see the module docstring)."""
    ops = graph_ops(path)  # first: a graph with unknown ops cannot even be loaded
    report = {"path": path, "ops": len(ops), "non_core_ops": non_core_ops(ops), "cases": [], "requests": []}
    try:
        loaded = tf.saved_model.load(path)
    except Exception as err:  # what TF Serving would log when it refuses the model
        report["load_error"] = f"{type(err).__name__}: {err}"[:2000]
        return report
    shown = saved_model_cli_show_all(path)
    report.update(
        {
            "signatures": sorted(loaded.signatures),
            "saved_model_cli_signatures": sorted(
                name for name in loaded.signatures if f"signature_def['{name}']:" in shown
            ),
            "inputs": {
                name: {k: [s.dtype.name, s.shape.as_list()] for k, s in _input_specs(fn).items()}
                for name, fn in loaded.signatures.items()
            },
            "outputs": {
                name: {k: [s.dtype.name, s.shape.as_list()] for k, s in fn.structured_outputs.items()}
                for name, fn in loaded.signatures.items()
            },
        }
    )
    for case in cases:
        fn = loaded.signatures[case["signature"]]
        specs = _input_specs(fn)
        with np.load(case["inputs"]) as inputs, np.load(case["expected"]) as expected:
            got = fn(**{key: _tensor(inputs[key], specs[key], key) for key in specs})
            diffs = {
                key: float(np.max(np.abs(got[key].numpy().astype("float64") - expected[key].astype("float64"))))
                for key in expected.files
            }
        tolerance = case.get("tolerance", 1e-4)
        report["cases"].append(
            {
                "signature": case["signature"],
                "max_abs_diff": diffs,
                "passed": all(d <= tolerance for d in diffs.values()),
            }
        )
    for request in requests:
        with open(request["body"], encoding="utf-8") as f:
            answer = rest_predict(loaded, json.load(f))
        with open(request["response"], "w", encoding="utf-8") as f:
            json.dump(answer, f)
        report["requests"].append(request["response"])
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("saved_models", nargs="*", help="SavedModel version folders to check")
    parser.add_argument("--plan", help="a JSON plan with cases and requests (see the module docstring)")
    args = parser.parse_args(argv)
    entries = [{"path": path} for path in args.saved_models]
    if args.plan:
        with open(args.plan, encoding="utf-8") as f:
            entries += json.load(f)["saved_models"]
    if not entries:
        parser.error("give SavedModel folders or --plan")
    reports = [verify_saved_model(e["path"], e.get("cases", ()), e.get("requests", ())) for e in entries]
    result = {
        "tensorflow_version": tf.__version__,
        # The proof that the checks ran without this repository's code.
        "zoo_imported": any(name == "zoo" or name.startswith("zoo.") for name in sys.modules),
        "saved_models": reports,
    }
    print(json.dumps(result, indent=2))
    ok = all(not r["non_core_ops"] and "load_error" not in r and all(c["passed"] for c in r["cases"]) for r in reports)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
