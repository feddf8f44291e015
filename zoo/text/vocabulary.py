"""Character- or word-level vocabularies for the tutorial's LSTM text generator.

Id 0 is padding and id 1 stands for unknown tokens; the rest are the corpus' tokens,
most frequent first. Characters keep Japanese (or any script) intact, since no word
segmenter is needed.

Example:
    >>> vocab = TextVocabulary("char").fit(["hello world"])
    >>> vocab.decode(vocab.encode("hello"))
    'hello'
    >>> TextVocabulary("word").fit(["the cat sat"]).tokenize("the cat, sat")
    ['the', 'cat', ',', 'sat']
"""

import collections
import json
import re

from zoo.validation import check_choice

PAD, UNK = "[PAD]", "[UNK]"
# Words are runs of letters/digits/underscore; every other non-space character is its own token.
_WORD_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# Tokens after which the word-level decoder adds no space, and before which it adds none.
_NO_SPACE_BEFORE = set(".,;:!?)]}'\"")
_NO_SPACE_AFTER = set("([{")


class TextVocabulary:
    """Maps text to integer ids and back, at character or word level."""

    def __init__(self, level="char", max_size=None, min_count=1, lowercase=False):
        self.level = check_choice(level, ("char", "word"), "vocabulary level")
        if max_size is not None and max_size < 3:
            raise ValueError(f"max_size must be at least 3 (padding, unknown and one token), got {max_size}.")
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}.")
        self.max_size = max_size
        self.min_count = min_count
        self.lowercase = lowercase
        self.tokens = [PAD, UNK]
        self._index = {PAD: 0, UNK: 1}

    def __len__(self):
        return len(self.tokens)

    @property
    def size(self):
        """Number of ids, padding and unknown included (the model's vocab_size)."""
        return len(self.tokens)

    def tokenize(self, text):
        """Split text into tokens (characters, or words and punctuation)."""
        if self.lowercase:
            text = text.lower()
        return list(text) if self.level == "char" else _WORD_RE.findall(text)

    def fit(self, texts):
        """Build the vocabulary from an iterable of strings; returns self."""
        if isinstance(texts, str):
            texts = [texts]
        counts = collections.Counter()
        for text in texts:
            counts.update(self.tokenize(text))
        if not counts:
            raise ValueError("Cannot build a vocabulary from empty text; give at least one non-empty string.")
        # Most frequent first; ties broken by the token itself so the vocabulary is deterministic.
        ranked = sorted((t for t, c in counts.items() if c >= self.min_count), key=lambda t: (-counts[t], t))
        if self.max_size is not None:
            ranked = ranked[: self.max_size - 2]
        self.tokens = [PAD, UNK] + ranked
        self._index = {t: i for i, t in enumerate(self.tokens)}
        return self

    def encode(self, text):
        """Text -> list of ids (unknown tokens become 1)."""
        return [self._index.get(t, 1) for t in self.tokenize(text)]

    def decode(self, ids):
        """Ids -> text; padding is dropped."""
        tokens = [self.tokens[i] if 0 <= i < len(self.tokens) else UNK for i in map(int, ids) if i != 0]
        if self.level == "char":
            return "".join(tokens)
        out = ""
        for token in tokens:
            if out and token not in _NO_SPACE_BEFORE and out[-1] not in _NO_SPACE_AFTER:
                out += " "
            out += token
        return out

    def get_config(self):
        return {
            "level": self.level,
            "max_size": self.max_size,
            "min_count": self.min_count,
            "lowercase": self.lowercase,
            "tokens": self.tokens,
        }

    def save(self, path):
        """Save as JSON (atomically: a crash leaves no half-written file)."""
        from zoo.data.atomic_files import write_text_atomic

        write_text_atomic(path, json.dumps(self.get_config(), ensure_ascii=False))
        return path

    @classmethod
    def load(cls, path):
        """Load a vocabulary saved by `save()`."""
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        tokens = config.pop("tokens")
        vocab = cls(**config)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"{path} is not a zoo vocabulary file (it must start with {PAD} and {UNK}).")
        vocab.tokens = tokens
        vocab._index = {t: i for i, t in enumerate(tokens)}
        return vocab
