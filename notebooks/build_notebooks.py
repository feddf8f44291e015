"""Build, check and run the notebooks: `notebooks/NN_*.py` (jupytext percent format) are the one source of truth.

`make notebooks` writes every `.ipynb` from its `.py` (outputs empty); `--check` fails when a notebook is invalid
(nbformat), missing, stale or an orphan, or when its Colab header differs from the others; `--execute NAME` runs
one notebook in a fresh kernel from the repository root and fails on the first error or after `--timeout` seconds.

Example:
    python notebooks/build_notebooks.py            # write notebooks/*.ipynb
    python notebooks/build_notebooks.py --check    # CI: valid and in step with the sources
    python notebooks/build_notebooks.py --execute 00_first_hour
"""

import argparse
import glob
import os
import sys
import tempfile
import time

NOTEBOOKS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(NOTEBOOKS)
HEADER_MARK = "<!-- header:"


def sources():
    """The notebook sources, `NN_name.py`, in chapter order."""
    return sorted(glob.glob(os.path.join(NOTEBOOKS, "[0-9][0-9]_*.py")))


def to_notebook(source):
    """The notebook (nbformat v4, no outputs) that `source` describes."""
    import jupytext

    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)  # the pairing is this script's job, not the reader's
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(notebook.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: rebuilding an unchanged source changes nothing
    return notebook


def target(source):
    return source[: -len(".py")] + ".ipynb"


def _comparable(notebook):
    return [(cell.cell_type, cell.source) for cell in notebook.cells], dict(notebook.metadata)


def _header(notebook):
    """The Colab header: the marked markdown cell and the install cell after it."""
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and HEADER_MARK in cell.source:
            return [c.source for c in notebook.cells[i : i + 2]]
    return None


def write_all():
    """Write every `.ipynb` from its source, atomically; the paths written."""
    import nbformat

    written = []
    for source in sources():
        notebook = to_notebook(source)
        nbformat.validate(notebook)
        path = target(source)
        fd, tmp = tempfile.mkstemp(dir=NOTEBOOKS, suffix=".ipynb.tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(notebook, f)
        os.replace(tmp, path)
        written.append(path)
    return written


def problems():
    """What is wrong with the notebooks, one line each (empty when all are valid and in step)."""
    import nbformat

    found, headers = [], {}
    names = {target(s) for s in sources()}
    for path in sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb"))):
        if path not in names:
            found.append(f"{os.path.basename(path)} has no source .py: delete it or add its source")
    for source in sources():
        name = os.path.basename(target(source))
        expected = to_notebook(source)
        headers[os.path.basename(source)] = _header(expected)
        if not os.path.exists(target(source)):
            found.append(f"{name} is missing: run `make notebooks`")
            continue
        try:
            actual = nbformat.read(target(source), as_version=4)
            nbformat.validate(actual)
        except Exception as err:  # nbformat raises several kinds; any of them means invalid
            found.append(f"{name} is not a valid notebook ({type(err).__name__}: {str(err).splitlines()[0]})")
            continue
        if _comparable(actual) != _comparable(expected):
            found.append(f"{name} is out of step with {os.path.basename(source)}: run `make notebooks`")
    distinct = {repr(h) for h in headers.values()}
    if None in headers.values() or len(distinct) > 1:
        odd = sorted(k for k, h in headers.items() if h is None or repr(h) != repr(headers[sorted(headers)[0]]))
        found.append(f"the Colab header cells differ from {sorted(headers)[0]}'s in: {', '.join(odd)}")
    return found


def execute(name, timeout):
    """Run notebook `name` in a fresh kernel from the repository root; its wall time in seconds."""
    import nbclient
    import nbformat

    path = os.path.join(NOTEBOOKS, name if name.endswith(".ipynb") else name + ".ipynb")
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": ROOT}}
    ).execute()
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail unless every notebook is valid and in step")
    parser.add_argument("--execute", metavar="NAME", action="append", default=[], help="run this notebook")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell when executing (default: 600)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(f"notebooks: {line}", file=sys.stderr)
        if found:
            return 1
        print(f"notebooks: {len(sources())} valid and in step with their sources")
    elif not args.execute:
        for path in write_all():
            print(f"wrote {os.path.relpath(path, ROOT)}")
    for name in args.execute:
        seconds = execute(name, args.timeout)
        print(f"notebooks: {name} ran without error in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
