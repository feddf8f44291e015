"""Sample prompts from the user's own corpus, so generations are shown in the corpus's language.

Recipes print a few generations during and after training. Fixed English
prompts ("The ", "def ") make a model trained on Japanese look broken: it has
never seen them. `corpus_prompts` picks short openings of prose lines from the
validation documents (text the model did not train on), in the language most
of those documents are in: a few words in spaced languages, a few characters
up to a particle (は, が, を ...) in Japanese. `--prompt` (repeatable) replaces them.

Example:
    >>> docs = ["吾輩は猫である。名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。"]
    >>> corpus_prompts(docs, count=2, seed=0)
    ['吾輩は', 'どこで']
"""

import collections
import random
import re

_PARTICLES = "はがをにでのともへ"
_SKIP_START = ("```", "|", "#", "*", "-", ">", "$", "/", "[", "{", "<")
_WORD_RE = re.compile(r"[^\W\d_]", re.UNICODE)
_JAPANESE_START_RE = re.compile("[\u3041-\u3096\u30a1-\u30fa\u3400-\u9fff]")
_SENTENCE_ENDS = (".", "。", "!", "?", "！", "？", ":", "：")


def _prose_lines(text):
    inside_code = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            inside_code = not inside_code
            continue
        if inside_code or len(stripped) < 8 or stripped.startswith(_SKIP_START) or line[:1].isspace():
            continue
        if len(_WORD_RE.findall(stripped)) < 0.6 * len(stripped.replace(" ", "")):
            continue  # mostly digits or symbols: a table row or an option list, not prose
        yield stripped


def opening(line, japanese):
    """Return the start of `line` for a model to continue: 3 words, or in Japanese the text up to the first particle.

    Example:
        >>> opening("The cat sat on the mat.", False), opening("東京都に住んでいる人は多い。", True)
        ('The cat sat ', '東京都に')
        >>> opening("コマンドラインオプションを使う。", True)
        'コマンドラインオプション'
    """
    if not japanese:
        words = line.split()
        return " ".join(words[:3]) + " " if len(words) > 3 else " ".join(words[:2]) + " "
    for i in range(1, min(10, len(line) - 1)):
        if line[i] in _PARTICLES:
            return line[: i + 1]
    # No particle near the start (コマンドラインオプション...): end where the first word's script ends.
    run = re.match("[\u30a1-\u30fc]+|[\u3400-\u9fff]+", line)
    if run and 2 <= run.end() <= 12 and run.end() < len(line):
        return line[: run.end()]
    return line[: min(8, len(line) - 1)]


def corpus_prompts(texts, count=3, seed=0):
    """Return up to `count` distinct prompts opened from prose lines of `texts`, in their main language.

    Example:
        >>> corpus_prompts(["The cat sat on the mat and slept.", "A dog ran in the park all day."], count=2)
        ['The cat sat ', 'A dog ran ']
    """
    from zoo.data.language import document_language, is_japanese

    texts = [text for text in texts if text and text.strip()]
    if not texts or count <= 0:
        return []
    main = collections.Counter(document_language(text[:2000]) for text in texts[:50]).most_common(1)[0][0]
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    prompts = []
    for index in order:
        for line in _prose_lines(texts[index]):
            japanese = is_japanese(line)
            if (main == "ja") != japanese:
                continue  # an English line in a Japanese corpus (or the reverse) is not what the model learned
            if japanese and not _JAPANESE_START_RE.match(line):
                continue  # "ls - ..." headers and option lines: start where the Japanese sentence starts
            if not line.endswith(_SENTENCE_ENDS) or (not japanese and (len(line.split()) < 6 or not line[0].isupper())):
                continue  # headings and fragments: only whole sentences make prompts
            prompt = opening(line, japanese)
            if prompt.strip() and prompt not in prompts:
                prompts.append(prompt)
            break  # one prompt per document, so the prompts cover different documents
        if len(prompts) == count:
            break
    if not prompts:  # no prose line anywhere: the first characters of the first document
        prompts.append(texts[order[0]].strip()[:8])
    return prompts


def add_prompt_argument(parser, help_extra=""):
    """Add the repeatable `--prompt` option (default: prompts taken from the validation split).

    Example:
        >>> import argparse
        >>> add_prompt_argument(argparse.ArgumentParser()).parse_args(["--prompt", "猫は", "--prompt", "犬が"]).prompt
        ['猫は', '犬が']
    """
    parser.add_argument(
        "--prompt",
        action="append",
        default=None,
        metavar="TEXT",
        help="a prompt to continue in the samples (repeatable; default: openings of lines from the "
        "corpus's validation documents, in the corpus's language)" + help_extra,
    )
    return parser


def resolve_prompts(given, validation_texts, count=3, seed=0):
    """Return `given` prompts when there are any, else `corpus_prompts(validation_texts, count, seed)`.

    Example:
        >>> resolve_prompts(["猫は"], ["犬が走る。"]), resolve_prompts(None, ["犬が走る。公園で遊ぶ。"])
        (['猫は'], ['犬が'])
    """
    if given:
        return list(given)
    return corpus_prompts(validation_texts, count=count, seed=seed)
