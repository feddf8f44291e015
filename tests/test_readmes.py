"""The English and Japanese READMEs cover every section of the tutorial and point at each other.

The section list is the tutorial's own numbering (II.A.1 ... III.D.3, then its four classic models). README.ja.md
walks every numbered section under its own heading; README.md's table may group a chapter's sections into one row
(`III.A data, model and pipeline parallelism` covers III.A.1-3).
"""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (number, the tutorial's Japanese heading)
SECTIONS = [
    ("II.A.1", "ウェブクローリング"),
    ("II.A.2", "データのクリーニングとフィルタリング"),
    ("II.A.3", "トークン化と語彙の作成"),
    ("II.B.1", "トランスフォーマーベースのモデル"),
    ("II.B.2", "モデルサイズと深さのスケーリング"),
    ("II.B.3", "専門モジュールの組み込み"),
    ("II.C.1", "教師なし事前トレーニング"),
    ("II.C.2", "教師あり事前トレーニング"),
    ("II.D.1", "効率的なトレーニングアルゴリズム"),
    ("II.D.2", "ハイパーパラメータの調整"),
    ("III.A.1", "データ並列処理"),
    ("III.A.2", "モデル並列処理"),
    ("III.A.3", "パイプライン並列処理"),
    ("III.B.1", "GPUの活用"),
    ("III.B.2", "Tensor Processing Units"),
    ("III.B.3", "クラウドプラットフォームでの分散トレーニング"),
    ("III.C.1", "スパースアテンション"),
    ("III.C.2", "軸方向アテンション"),
    ("III.C.3", "Reformer"),
    ("III.D.1", "重みの量子化"),
    ("III.D.2", "知識蒸留"),
    ("III.D.3", "カット剪定とモデル圧縮"),
]
# The four classic models: (name in README.ja.md, name in README.md)
CLASSICS = [("CNN", "CNN"), ("RNN", "RNN"), ("GAN", "GAN"), ("転移学習", "transfer learning")]


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def _headings(text):
    """Markdown headings, skipping `#` comments inside fenced code blocks."""
    headings, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("#") and not fenced:
            headings.append(line.lstrip("#").strip())
    return headings


@pytest.mark.parametrize("number,title", SECTIONS)
def test_japanese_readme_has_a_heading_per_section(number, title):
    heading = [h for h in _headings(_read("README.ja.md")) if h.split()[0] == number]
    assert heading, f"README.ja.md has no heading for tutorial section {number}"
    assert title in heading[0], f"README.ja.md's heading for {number} should carry the tutorial's title {title!r}"


@pytest.mark.parametrize("number,title", SECTIONS)
def test_english_readme_covers_each_section(number, title):
    text = _read("README.md")
    chapter = number.rsplit(".", 1)[0]  # III.A.1 -> III.A
    # A row of the section table starts with the section's number, or with its chapter's number when the table
    # groups the chapter's sections into one row.
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    covered = [r for r in rows if re.match(rf"\| ({re.escape(number)}|{re.escape(chapter)}) ", r)]
    assert covered, f"README.md's section table has no row for {number} (or its chapter {chapter})"


def test_both_readmes_cover_the_classic_models():
    ja, en = _read("README.ja.md"), _read("README.md")
    for ja_name, en_name in CLASSICS:
        assert any(h.startswith(ja_name) for h in _headings(ja)), f"README.ja.md has no heading for {ja_name}"
        assert en_name in en, f"README.md does not mention {en_name}"


def test_readmes_link_each_other():
    assert "(README.ja.md)" in _read("README.md")
    assert "(README.md)" in _read("README.ja.md")


def test_japanese_readme_local_links_exist():
    text = _read("README.ja.md")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert os.path.exists(os.path.join(ROOT, target)), f"README.ja.md links to {target}, which does not exist"
