"""Rebuild the Japanese evaluation set `ja_manpages.jsonl.gz` from Debian's manpages-ja package.

The set is real Japanese technical writing (the JM Project's translations of
the Linux man pages) as real HTML pages: each page is rendered by mandoc's HTML
output, so it has the headings, paragraphs, tables (<table>), code examples
(<pre>) and option lists of a manual chapter. Pages are picked by a seeded
shuffle of every file name (no look at their content), so the set is not
chosen to pass the filters; `.so` alias pages (one include line, no text) are
skipped.

Run (no root needed; apt-get download only fetches the .deb files):

    apt-get download manpages-ja mandoc
    dpkg-deb -x manpages-ja_*.deb pkg && dpkg-deb -x mandoc_*.deb pkg
    python -m zoo.data.eval.build_ja_manpages --root pkg --mandoc pkg/usr/bin/mandoc

Example:
    >>> _literal_non_ascii("&#x65E5;&#x672C; &lt;b&gt;")
    '日本 &lt;b&gt;'
"""

import argparse
import gzip
import io
import json
import random
import re
import subprocess
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).with_name("ja_manpages.jsonl.gz")
_ENTITY_RE = re.compile(r"&#x([0-9A-Fa-f]+);")


def _literal_non_ascii(html):
    # mandoc writes every non-ASCII character as &#xNNNN;. Writing them as UTF-8 makes the file
    # a third of the size and readable; ASCII entities (&lt; &amp; ...) stay escaped, so markup is unchanged.
    return _ENTITY_RE.sub(lambda m: chr(int(m.group(1), 16)) if int(m.group(1), 16) >= 0x80 else m.group(0), html)


def render_page(mandoc, path):
    """Return one man page (gzip'd roff) as an HTML fragment rendered by mandoc, or None for an alias page."""
    roff = gzip.decompress(Path(path).read_bytes())
    if roff.lstrip().startswith(b".so "):
        return None
    result = subprocess.run([str(mandoc), "-Thtml", "-Ofragment"], input=roff, capture_output=True, check=False)
    html = result.stdout.decode("utf-8", errors="replace")
    return _literal_non_ascii(html) if html.strip() else None


def build(root, mandoc, out=DEFAULT_OUT, count=120, seed=0):
    """Render `count` seeded-random pages of <root>/usr/share/man/ja and write them as gzip'd JSONL."""
    man_dir = Path(root) / "usr/share/man/ja"
    files = sorted(p for p in man_dir.rglob("*.gz") if p.is_file() and not p.is_symlink())
    if not files:
        raise SystemExit(f"no man pages under {man_dir}; extract manpages-ja_*.deb into {root} first")
    random.Random(seed).shuffle(files)
    rows = []
    for path in files:
        html = render_page(mandoc, path)
        if html is None:
            continue
        name = str(path.relative_to(man_dir))
        rows.append({"id": name.removesuffix(".gz"), "source": f"manpages-ja:{name}", "html": html})
        if len(rows) == count:
            break
    buffer = io.BytesIO()
    # mtime=0: the same pages give the same bytes, so a rebuild shows no diff.
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(out)
    return out, len(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="folder where manpages-ja_*.deb was extracted (dpkg-deb -x)")
    parser.add_argument("--mandoc", default="mandoc", help="mandoc binary (from the mandoc .deb)")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out, n = build(args.root, args.mandoc, args.out, args.count, args.seed)
    print(f"wrote {n} pages to {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
