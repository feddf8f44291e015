"""The token conventions every zoo tokenizer follows, importable without TensorFlow.

Every vocabulary starts with these seven tokens at these ids, so pipelines and
models can rely on them: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 <s>=5 </s>=6.
A tokenizer object exposes them as `<name>_id` attributes (`pad_token_id`, ...).

Example:
    >>> dict(zip(SPECIAL_TOKEN_NAMES, range(len(SPECIAL_TOKENS))))["mask_token"]
    4
"""

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>")
SPECIAL_TOKEN_NAMES = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token", "start_token", "end_token")
TOKENIZER_KINDS = ("sentencepiece-unigram", "sentencepiece-bpe", "wordpiece", "byte-bpe")
