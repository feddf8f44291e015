"""The notebooks are valid and in step with their sources, and the docs site's link rewriting is right.

Running a notebook needs a Jupyter kernel and minutes, so it stays out of the suite: `make check-notebooks` (CI)
runs the first-hour notebook.
"""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_is_valid_and_in_step_with_its_source():
    pytest.importorskip("jupytext")
    notebooks = _load("notebooks/build_notebooks.py", "build_notebooks")
    names = [os.path.basename(s) for s in notebooks.sources()]
    assert "00_first_hour.py" in names and len(names) >= 11, names
    assert notebooks.problems() == []


def test_a_stale_notebook_is_reported(tmp_path, monkeypatch):
    pytest.importorskip("jupytext")
    import shutil

    notebooks = _load("notebooks/build_notebooks.py", "build_notebooks")
    for name in ("00_first_hour.py", "00_first_hour.ipynb", "01_data.py", "01_data.ipynb"):
        shutil.copy(os.path.join(notebooks.NOTEBOOKS, name), tmp_path / name)
    monkeypatch.setattr(notebooks, "NOTEBOOKS", str(tmp_path))
    assert notebooks.problems() == []
    with open(tmp_path / "01_data.py", "a", encoding="utf-8") as f:
        f.write("\n# %%\nprint('a new cell')\n")
    (tmp_path / "99_orphan.ipynb").write_text((tmp_path / "00_first_hour.ipynb").read_text())
    found = notebooks.problems()
    assert any("01_data.ipynb is out of step" in line for line in found), found
    assert any("99_orphan.ipynb has no source" in line for line in found), found


def test_site_links_point_at_pages():
    pytest.importorskip("mkdocs")
    hooks = _load("docs/hooks.py", "docs_hooks")
    assert hooks.rewrite_links("[日本語](README.ja.md)", "index.md") == "[日本語](ja/index.md)"
    assert hooks.rewrite_links("[English](README.md#platforms)", "ja/index.md") == "[English](../index.md#platforms)"
    assert hooks.rewrite_links("[guide](docs/distributed.md)", "index.md") == "[guide](distributed.md)"
    assert hooks.rewrite_links("[`zoo/llm/gpt.py`](zoo/llm/gpt.py)", "index.md") == "`zoo/llm/gpt.py`"
    # code blocks are left as they are
    assert hooks.rewrite_links("```\n[a](zoo/x.py)\n```", "index.md") == "```\n[a](zoo/x.py)\n```"
