"""Tokenizers: train SentencePiece (unigram, BPE), WordPiece and byte-level BPE on a corpus,
save and load them as files, and use them as keras-hub tokenizers with known special tokens.

Every vocabulary starts with the same seven special tokens at the same ids, so
the tf.data pipelines and the models never need to ask which id is which:

    0 [PAD]  1 [UNK]  2 [CLS]  3 [SEP]  4 [MASK]  5 <s>  6 </s>

and every tokenizer object has `pad_token_id`, `unk_token_id`, `cls_token_id`,
`sep_token_id`, `mask_token_id`, `start_token_id` and `end_token_id`.

Which to pick: SentencePiece needs no word segmenter, so it is the one for
Japanese; with byte fallback and identity normalization (the clean stage has
already applied NFKC) it round-trips any text exactly. Byte-level BPE (GPT-2
style) also round-trips exactly, but keras-hub's BytePairTokenizer is slow to
trace into a tf.data map (about 10 s per pipeline on 2 CPU cores, measured).
WordPiece (BERT style) splits on spaces and puts each CJK character on its
own, so it loses the original spacing; with `pretokenizer="fugashi"` a
morphological analyser cuts Japanese into words first (zoo.data.morphology),
as Japanese BERT models do, and WordPiece learns pieces of those words.

Trainers used: sentencepiece's trainer (the library under keras-hub's
`compute_sentence_piece_proto`, called directly for its special-token and
byte-fallback options), keras-hub's `compute_word_piece_vocabulary`, and the
HuggingFace `tokenizers` BPE trainer (which keras-hub depends on) for byte-level BPE.

Example:
    >>> texts = ["吾輩は猫である。名前はまだ無い。", "The cat sat on the mat."] * 50
    >>> tok = train_tokenizer(texts, kind="sentencepiece-unigram", vocab_size=290)
    >>> tok.mask_token_id, tok.detokenize(tok.tokenize("吾輩は猫である。"))
    (4, '吾輩は猫である。')
"""

import io
import json
import re
import tempfile
from pathlib import Path

import keras
import keras_hub

from zoo.data.atomic_files import write_bytes_atomic, write_json_atomic, write_text_atomic
from zoo.data.special_tokens import SPECIAL_TOKEN_NAMES, SPECIAL_TOKENS
from zoo.data.special_tokens import TOKENIZER_KINDS as KINDS
from zoo.errors import UsageError

METADATA_FILE = "tokenizer.json"
_FILES = {
    "sentencepiece-unigram": ["sentencepiece.model"],
    "sentencepiece-bpe": ["sentencepiece.model"],
    "wordpiece": ["vocab.txt"],
    "byte-bpe": ["vocab.json", "merges.txt"],
}


def _add_special_tokens(tokenizer):
    # Registered before the vocabulary is set, as keras-hub's own tokenizers do, so that
    # the *_token_id attributes are filled (and checked) when the vocabulary arrives.
    for token, name in zip(SPECIAL_TOKENS, SPECIAL_TOKEN_NAMES):
        tokenizer._add_special_token(token, name)


@keras.saving.register_keras_serializable(package="zoo")
class ZooSentencePieceTokenizer(keras_hub.tokenizers.SentencePieceTokenizer):
    """keras-hub's SentencePieceTokenizer with zoo's special tokens as attributes.

    Example:
        >>> tok = load_tokenizer("data/corpus-builtin/tokenizer")  # doctest: +SKIP
        >>> tok.pad_token_id, tok.end_token_id                      # doctest: +SKIP
        (0, 6)
    """

    def __init__(self, proto=None, **kwargs):
        _add_special_tokens(self)
        super().__init__(proto=proto, **kwargs)


@keras.saving.register_keras_serializable(package="zoo")
class ZooWordPieceTokenizer(keras_hub.tokenizers.WordPieceTokenizer):
    """keras-hub's WordPieceTokenizer with zoo's special tokens (kept whole in strings).

    Example:
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"])
        >>> [int(i) for i in tok.tokenize("cat [MASK]")]
        [7, 4]
    """

    def __init__(self, vocabulary=None, pretokenizer=None, **kwargs):
        _add_special_tokens(self)
        kwargs.setdefault("special_tokens", list(SPECIAL_TOKENS))
        kwargs.setdefault("special_tokens_in_strings", True)
        kwargs.setdefault("oov_token", "[UNK]")
        self.pretokenizer = pretokenizer
        if pretokenizer is not None:
            from zoo.data.morphology import _tagger

            _tagger(pretokenizer)  # fail now, with what to install, rather than inside a tf.data map
            kwargs["split_on_cjk"] = False  # the analyser has already put spaces between the words
        super().__init__(vocabulary=vocabulary, **kwargs)

    def get_config(self):
        return {**super().get_config(), "pretokenizer": self.pretokenizer}

    def _segment(self, inputs):
        import numpy as np
        import tensorflow as tf

        from zoo.data.morphology import segment

        def segment_array(array):
            flat = [
                segment(item.decode("utf-8") if isinstance(item, bytes) else str(item), self.pretokenizer)
                for item in np.asarray(array, dtype=object).reshape(-1)
            ]
            return np.asarray(flat, dtype=object).reshape(np.shape(array))

        if isinstance(inputs, str):
            return segment(inputs, self.pretokenizer)
        if isinstance(inputs, (list, tuple)):
            return [segment(item, self.pretokenizer) for item in inputs]
        inputs = tf.convert_to_tensor(inputs)
        if tf.executing_eagerly():
            return tf.constant(segment_array(inputs.numpy()))
        # Inside a tf.data map or tf.function: the analyser is Python, so it runs through numpy_function.
        out = tf.numpy_function(segment_array, [inputs], tf.string, stateful=False)
        out.set_shape(inputs.shape)
        return out

    def tokenize(self, inputs):
        if self.pretokenizer is not None:
            inputs = self._segment(inputs)
        return super().tokenize(inputs)


@keras.saving.register_keras_serializable(package="zoo")
class ZooBytePairTokenizer(keras_hub.tokenizers.BytePairTokenizer):
    """keras-hub's byte-level BytePairTokenizer with zoo's special tokens (never split).

    Example:
        >>> tok = load_tokenizer("data/corpus-builtin/tokenizer-bpe")  # doctest: +SKIP
        >>> tok.start_token_id                                          # doctest: +SKIP
        5
    """

    def __init__(self, vocabulary=None, merges=None, **kwargs):
        _add_special_tokens(self)
        super().__init__(vocabulary=vocabulary, merges=merges, **kwargs)


def _too_big(kind, vocab_size, supported):
    return ValueError(
        f"vocab_size {vocab_size} is larger than this corpus supports for a {kind} tokenizer "
        f"(at most about {supported}); pass --vocab-size {supported} or less, or give more text"
    )


def _lines(texts, max_chars):
    # SentencePiece trains on "sentences": feed lines, cut to its length limit, so long
    # documents are not silently skipped by the trainer.
    for text in texts:
        for line in text.split("\n"):
            line = line.strip()
            while line:
                yield line[:max_chars]
                line = line[max_chars:]


def _train_sentencepiece(texts, model_type, vocab_size, seed):
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.set_random_generator_seed(seed)  # the sentence shuffle, so a rerun gives the same model
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=_lines(texts, 4000),
            model_writer=buffer,
            vocab_size=vocab_size,
            model_type=model_type,
            pad_id=0,
            unk_id=1,
            bos_id=5,
            eos_id=6,
            pad_piece="[PAD]",
            unk_piece="[UNK]",
            bos_piece="<s>",
            eos_piece="</s>",
            control_symbols=["[CLS]", "[SEP]", "[MASK]"],  # ids 2, 3, 4: never produced from text
            normalization_rule_name="identity",  # the clean stage already applied NFKC; keep text as it is
            remove_extra_whitespaces=False,  # code indentation and spacing survive the round trip
            byte_fallback=True,  # unseen characters become bytes, never [UNK]: exact round trip
            character_coverage=0.9995,  # the value SentencePiece recommends for Japanese and Chinese
            split_digits=True,
            max_sentence_length=16384,
            input_sentence_size=2_000_000,
            shuffle_input_sentence=True,
            num_threads=2,
            hard_vocab_limit=True,
            minloglevel=2,
        )
    except RuntimeError as err:
        found = re.search(r"value <= (\d+)", str(err))
        if found:
            raise _too_big(f"sentencepiece-{model_type}", vocab_size, int(found.group(1))) from None
        found = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", str(err))
        if found:
            raise ValueError(
                f"vocab_size {vocab_size} is too small for this corpus: SentencePiece needs at least "
                f"{found.group(2)} (every character it must cover, the 256 byte pieces and the special tokens); "
                f"pass --vocab-size {found.group(2)} or more"
            ) from None
        raise ValueError(f"SentencePiece training failed: {err}") from err
    return ZooSentencePieceTokenizer(proto=buffer.getvalue())


def _train_wordpiece(texts, vocab_size, lowercase, pretokenizer=None):
    import tensorflow as tf

    if pretokenizer is not None:
        from zoo.data.morphology import segment

        texts = [segment(text, pretokenizer) for text in texts]
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(list(texts)).batch(256),
        vocabulary_size=vocab_size,
        lowercase=lowercase,
        strip_accents=False,  # stripping accents would turn が into か: never for Japanese
        split_on_cjk=pretokenizer is None,
        reserved_tokens=list(SPECIAL_TOKENS),
    )
    # The WordPiece learner reaches its size only approximately; far below the request
    # means the corpus has run out of words.
    if len(vocabulary) < 0.9 * vocab_size:
        raise _too_big("wordpiece", vocab_size, len(vocabulary))
    return ZooWordPieceTokenizer(
        vocabulary=vocabulary, lowercase=lowercase, strip_accents=False, pretokenizer=pretokenizer
    )


def _train_byte_bpe(texts, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    base = len(pre_tokenizers.ByteLevel.alphabet()) + len(SPECIAL_TOKENS)
    if vocab_size <= base:
        raise ValueError(
            f"vocab_size for byte-bpe must be above {base} (256 bytes + {len(SPECIAL_TOKENS)} special "
            f"tokens), got {vocab_size}"
        )
    bpe = Tokenizer(models.BPE())
    # The same GPT-2 splitting regex that keras-hub's BytePairTokenizer applies when it tokenizes.
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    vocabulary = bpe.get_vocab()
    if len(vocabulary) < 0.9 * vocab_size:
        raise _too_big("byte-bpe", vocab_size, len(vocabulary))
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file, merges_file = bpe.model.save(tmp)
        merges = [
            line
            for line in Path(merges_file).read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#version")
        ]
    return ZooBytePairTokenizer(vocabulary=vocabulary, merges=merges)


def train_tokenizer(texts, kind="sentencepiece-unigram", vocab_size=8000, lowercase=False, seed=0, pretokenizer=None):
    """Train a tokenizer of `kind` (one of KINDS) on an iterable of texts and return it (not yet saved).

    `pretokenizer` ("fugashi") cuts Japanese into words before a WordPiece vocabulary is learned.

    Example:
        >>> tok = train_tokenizer(["a b c d e f g"] * 20, kind="wordpiece", vocab_size=200)
        Traceback (most recent call last):
        ...
        ValueError: vocab_size 200 is larger than this corpus supports for a wordpiece tokenizer (at most about 21); pass --vocab-size 21 or less, or give more text
    """
    if kind not in KINDS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)}")
    if pretokenizer is not None and kind != "wordpiece":
        raise ValueError(f"a pre-tokenizer is for WordPiece vocabularies; {kind} needs none (got {pretokenizer!r})")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be larger than the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise ValueError("no text to train a tokenizer on: the corpus is empty")
    if kind.startswith("sentencepiece"):
        if lowercase:
            texts = [text.lower() for text in texts]
        return _train_sentencepiece(texts, kind.split("-", 1)[1], vocab_size, seed)
    if kind == "wordpiece":
        return _train_wordpiece(texts, vocab_size, lowercase, pretokenizer)
    if lowercase:
        texts = [text.lower() for text in texts]
    return _train_byte_bpe(texts, vocab_size)


def tokenizer_kind(tokenizer):
    """Return the KINDS name of a zoo tokenizer object.

    Example:
        >>> tokenizer_kind(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS)))
        'wordpiece'
    """
    if isinstance(tokenizer, ZooSentencePieceTokenizer):
        from sentencepiece import sentencepiece_model_pb2

        model = sentencepiece_model_pb2.ModelProto()
        model.ParseFromString(tokenizer.proto)
        return (
            "sentencepiece-bpe" if model.trainer_spec.model_type == model.trainer_spec.BPE else "sentencepiece-unigram"
        )
    if isinstance(tokenizer, ZooWordPieceTokenizer):
        return "wordpiece"
    if isinstance(tokenizer, ZooBytePairTokenizer):
        return "byte-bpe"
    raise TypeError(f"not a zoo tokenizer: {type(tokenizer).__name__}; train one with train_tokenizer()")


def save_tokenizer(tokenizer, folder):
    """Save a zoo tokenizer as plain files in `folder` (model/vocabulary files plus tokenizer.json).

    Example:
        >>> import tempfile
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"])
        >>> sorted(p.name for p in save_tokenizer(tok, tempfile.mkdtemp()).iterdir())
        ['tokenizer.json', 'vocab.txt']
    """
    folder = Path(folder)
    try:
        kind = tokenizer_kind(tokenizer)
    except TypeError:
        # An imported checkpoint's tokenizer (GPT-2 BPE, BERT WordPiece, Llama SentencePiece): its own files.
        from zoo.checkpoints.run_folder import save_checkpoint_tokenizer

        return save_checkpoint_tokenizer(tokenizer, folder)
    if kind.startswith("sentencepiece"):
        write_bytes_atomic(folder / "sentencepiece.model", tokenizer.proto)
        extra = {}
    elif kind == "wordpiece":
        write_text_atomic(folder / "vocab.txt", "".join(f"{token}\n" for token in tokenizer.vocabulary))
        extra = {"lowercase": tokenizer.lowercase, "pretokenizer": tokenizer.pretokenizer}
    else:
        write_json_atomic(folder / "vocab.json", dict(tokenizer.vocabulary))
        write_text_atomic(folder / "merges.txt", "".join(f"{merge}\n" for merge in tokenizer.merges))
        extra = {}
    # The metadata goes last: a folder with tokenizer.json is a complete tokenizer.
    write_json_atomic(
        folder / METADATA_FILE,
        {
            "kind": kind,
            "vocabulary_size": int(tokenizer.vocabulary_size()),
            "special_tokens": {token: int(tokenizer.token_to_id(token)) for token in SPECIAL_TOKENS},
            "files": _FILES[kind],
            **extra,
        },
    )
    return folder


_RETRAIN = "train the tokenizer again with `zoo data prepare` or `zoo data tokenizer`"


def _tokenizer_from_files(folder, kind, meta):
    if kind.startswith("sentencepiece"):
        import sentencepiece

        proto = (folder / "sentencepiece.model").read_bytes()
        # Parsed here first: TensorFlow's op fails on a damaged model with a long C++ trace.
        sentencepiece.SentencePieceProcessor(model_proto=proto)
        return ZooSentencePieceTokenizer(proto=proto)
    if kind == "wordpiece":
        vocabulary = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
        return ZooWordPieceTokenizer(
            vocabulary=vocabulary, lowercase=meta.get("lowercase", False), pretokenizer=meta.get("pretokenizer")
        )
    vocabulary = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = [line for line in (folder / "merges.txt").read_text(encoding="utf-8").split("\n") if line]
    return ZooBytePairTokenizer(vocabulary=vocabulary, merges=merges)


def load_tokenizer(folder):
    """Load a tokenizer saved by `save_tokenizer` (or `zoo data tokenizer`) as a keras-hub tokenizer.

    Example:
        >>> import tempfile
        >>> folder = save_tokenizer(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat"]), tempfile.mkdtemp())
        >>> load_tokenizer(folder).token_to_id("cat")
        7
    """
    folder = Path(folder)
    meta_path = folder / METADATA_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{meta_path} not found; train a tokenizer with `zoo data tokenizer` or `zoo data prepare` first"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as err:  # bad JSON, bad UTF-8, or nested without end
        raise UsageError(f"{meta_path} is damaged ({type(err).__name__}); {_RETRAIN}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{meta_path} is damaged (not a JSON object); {_RETRAIN}")
    kind = meta.get("kind")
    if kind == "checkpoint":  # an imported checkpoint's own tokenizer (zoo import), with its own special ids
        from zoo.checkpoints.run_folder import load_checkpoint_tokenizer

        return load_checkpoint_tokenizer(folder, meta)
    if kind not in KINDS:
        raise ValueError(f"{meta_path}: unknown tokenizer kind {kind!r}")
    for name in _FILES[kind]:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing; the tokenizer folder is incomplete, train it again")
    try:
        tokenizer = _tokenizer_from_files(folder, kind, meta)
    except Exception as err:  # a parser's error on damaged bytes: TF's InternalError, JSON, UTF-8, protobuf
        names = ", ".join(str(folder / name) for name in _FILES[kind])
        detail = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise UsageError(f"{names}: damaged tokenizer file(s) ({detail}); {_RETRAIN}") from None
    wanted = meta.get("special_tokens", {})
    actual = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
    if wanted and wanted != actual:
        raise ValueError(f"{folder}: special token ids {actual} differ from the saved {wanted}; the files do not match")
    return tokenizer


def token_pieces(tokenizer, text):
    """Return the pieces `tokenizer` cuts `text` into, as strings (byte-level pieces as the vocabulary spells them).

    Example:
        >>> token_pieces(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat", "##s"]), "cats")
        ['cat', '##s']
    """
    ids = tokenizer.tokenize(text)
    ids = ids.numpy().tolist() if hasattr(ids, "numpy") else list(ids)
    return [str(tokenizer.id_to_token(int(i))) for i in ids]
