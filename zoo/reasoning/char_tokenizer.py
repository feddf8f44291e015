"""A character tokenizer for the arithmetic task: one id per character, zoo's special tokens first.

Ids 0..6 are zoo's special tokens ([PAD] ... </s>, as every zoo vocabulary), then
one id per character of `ALPHABET`. Arithmetic is easier to learn digit by digit
than through a subword vocabulary that merges digits unpredictably.

Example:
    >>> tok = CharTokenizer()
    >>> tok.decode(tok.encode("12+3=")), tok.end_token_id
    ('12+3=', 6)
"""

from zoo.data.special_tokens import SPECIAL_TOKENS

ALPHABET = "0123456789+*=;>[]"


class CharTokenizer:
    """encode(text) -> ids, decode(ids) -> text over ALPHABET; unknown characters are an error."""

    pad_token_id = 0
    start_token_id = 5
    end_token_id = 6

    def __init__(self, alphabet=ALPHABET):
        self.alphabet = alphabet
        self._ids = {ch: len(SPECIAL_TOKENS) + i for i, ch in enumerate(alphabet)}

    def vocabulary_size(self):
        return len(SPECIAL_TOKENS) + len(self.alphabet)

    def encode(self, text):
        try:
            return [self._ids[ch] for ch in text]
        except KeyError as err:
            raise ValueError(f"character {err.args[0]!r} is not in the arithmetic alphabet {self.alphabet!r}") from None

    def decode(self, ids):
        """Text of ids; special tokens are dropped."""
        first = len(SPECIAL_TOKENS)
        return "".join(self.alphabet[i - first] for i in ids if first <= i < first + len(self.alphabet))

    def token_id(self, ch):
        return self._ids[ch]
