"""Small labelled sets written for zoo, in English and Japanese, in the standard formats.

| task      | language | train                 | dev                 | format                         |
| --------- | -------- | --------------------- | ------------------- | ------------------------------ |
| QA        | en, ja   | qa_<lang>_train.json  | qa_<lang>_dev.json  | SQuAD v1.1 JSON                |
| NLI       | en       | nli_en_train.tsv      | nli_en_dev.tsv      | GLUE-style TSV (sentence1/2)   |
| NLI       | ja       | nli_ja_train.jsonl    | nli_ja_dev.jsonl    | JGLUE JNLI-style JSONL         |
| sentiment | en       | sentiment_en_train.csv| sentiment_en_dev.csv| CSV text,label                 |
| sentiment | ja       | sentiment_ja_train.jsonl | sentiment_ja_dev.jsonl | JSONL {"text", "label"}  |

They are written from templates with varied vocabulary by `generate.py` (run it
to rebuild them; the seed fixes the result), and every label follows from how
the example was built: a sentiment sentence takes the polarity of its
adjective, verb or closing remark (negated positives are negative); an NLI
hypothesis restates, negates or adds to its premise; a QA answer is the phrase
put into the paragraph, with its character offset. The dev files hold people's
names that never occur in the training files, so they measure generalization,
not recall.

Example:
    >>> from zoo.finetune.datasets import dataset_path
    >>> dataset_path("sentiment", "en", "train").name
    'sentiment_en_train.csv'
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
FILES = {
    ("qa", "en"): "qa_en_{split}.json",
    ("qa", "ja"): "qa_ja_{split}.json",
    ("nli", "en"): "nli_en_{split}.tsv",
    ("nli", "ja"): "nli_ja_{split}.jsonl",
    ("sentiment", "en"): "sentiment_en_{split}.csv",
    ("sentiment", "ja"): "sentiment_ja_{split}.jsonl",
}
LANGUAGES = ("en", "ja")


def dataset_path(task, language, split):
    """The shipped file of `task` ("qa", "nli", "sentiment") in `language` ("en", "ja"), split "train" or "dev".

    Example:
        >>> dataset_path("qa", "ja", "dev").suffix
        '.json'
    """
    if (task, language) not in FILES:
        raise ValueError(
            f"No shipped {task!r} set in {language!r}; tasks: qa, nli, sentiment; languages: {', '.join(LANGUAGES)}."
        )
    if split not in ("train", "dev"):
        raise ValueError(f"split must be 'train' or 'dev', got {split!r}.")
    return FOLDER / FILES[(task, language)].format(split=split)
