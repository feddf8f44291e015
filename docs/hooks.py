"""MkDocs hooks: build the site's pages from the repository's own files, so nothing is written twice.

README.md becomes the English home page, README.ja.md the Japanese one, ARCHITECTURE.md and CONTRIBUTING.md pages
of their own, and notebooks/*.ipynb the notebook pages (mkdocs-jupyter renders them). Links between those files are
rewritten to the pages they became; a link to a source file (`zoo/llm/gpt.py`) becomes its path in code font, since
the site has no copy of the code.

Example (mkdocs.yml):
    hooks:
      - docs/hooks.py
"""

import glob
import os
import posixpath
import re

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# repository path -> page (or asset) path in the site
PAGES = {
    "README.md": "index.md",
    "README.ja.md": "ja/index.md",
    "ARCHITECTURE.md": "architecture.md",
    "CONTRIBUTING.md": "contributing.md",
    "notebooks/README.md": "notebooks/index.md",
}
ASSETS = ["benchmarks/attention_scaling.png"]
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _site_files():
    """{repository path: site path} of every file the site takes from the repository."""
    files = dict(PAGES)
    for path in sorted(glob.glob(os.path.join(ROOT, "notebooks", "[0-9][0-9]_*.ipynb"))):
        name = posixpath.join("notebooks", os.path.basename(path))
        files[name] = name
    for asset in ASSETS:
        files[asset] = asset
    return files


@event_priority(100)  # before mkdocs-jupyter, which turns the .ipynb files it finds into pages
def on_files(files, config):
    """Add the repository's pages, notebooks and images to the site."""
    for repo_path, site_path in _site_files().items():
        if repo_path == site_path:
            # A plain File read from the repository root: mkdocs-jupyter wraps it, and its wrapper cannot read a
            # generated File.
            files.append(File(repo_path, ROOT, config.site_dir, config.use_directory_urls))
        else:
            files.append(File.generated(config, site_path, abs_src_path=os.path.join(ROOT, repo_path)))
    return files


def _repo_path_of(site_path):
    for repo_path, candidate in _site_files().items():
        if candidate == site_path:
            return repo_path
    return "docs/" + site_path  # a page written for the site itself


def rewrite_links(markdown, page_site_path):
    """Point the links of a page taken from the repository at the site's pages.

    Example:
        >>> rewrite_links("[日本語](README.ja.md) and [GPT](zoo/llm/gpt.py)", "index.md")
        '[日本語](ja/index.md) and GPT (`zoo/llm/gpt.py`)'
    """
    here = posixpath.dirname(_repo_path_of(page_site_path))
    site_dir = posixpath.dirname(page_site_path)
    site_files = _site_files()

    def replace(match):
        bang, text, target = match.groups()
        if "://" in target or target.startswith(("#", "mailto:")):
            return match.group(0)
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(here, path))
        if repo_path.startswith("docs/") and os.path.exists(os.path.join(ROOT, repo_path)):
            site_path = repo_path[len("docs/") :]
        elif repo_path.rstrip("/") == "notebooks":
            site_path = "notebooks/index.md"
        else:
            site_path = site_files.get(repo_path)
        if site_path is None:  # source code and other files the site does not carry
            return text if bang else f"`{repo_path}`" if text.strip("`") == repo_path else f"{text} (`{repo_path}`)"
        new = posixpath.relpath(site_path, site_dir or ".") + (f"#{anchor}" if anchor else "")
        return f"{bang}[{text}]({new})"

    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced else LINK.sub(replace, line))
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    """Rewrite the links of every page (the site's own pages link the same way, from docs/)."""
    return rewrite_links(markdown, page.file.src_uri)
