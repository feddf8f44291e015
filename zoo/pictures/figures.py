"""What every picture shares: matplotlib without a screen, and an atomic PNG write at a small size.

Example:
    >>> import tempfile, os
    >>> plt = pyplot()
    >>> fig, ax = plt.subplots()
    >>> path = save_figure(fig, os.path.join(tempfile.mkdtemp(), "empty.png"))
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
"""

import os

DPI = 100  # pictures are committed to docs/images: small files, still readable


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, dpi=DPI):
    """Save `fig` as PNG to `path` through a temporary name, close it, and return the path."""
    path = str(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    finally:
        pyplot().close(fig)
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def japanese_font():
    """The name of a font with Japanese glyphs, registered with matplotlib, or None when there is none.

    It looks for IPAexGothic from the japanize-matplotlib package (`pip install zoo[ja]`), then for
    a CJK font already known to matplotlib (e.g. Debian's fonts-noto-cjk or fonts-ipaexfont).
    """
    import importlib.util

    from matplotlib import font_manager

    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is not None and spec.submodule_search_locations:
        font = os.path.join(list(spec.submodule_search_locations)[0], "fonts", "ipaexg.ttf")
        if os.path.isfile(font):
            font_manager.fontManager.addfont(font)
            return font_manager.FontProperties(fname=font).get_name()
    for entry in font_manager.fontManager.ttflist:
        if any(word in entry.name for word in ("CJK JP", "IPAex", "IPAGothic", "Takao", "VL Gothic")):
            return entry.name
    return None
