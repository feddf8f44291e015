"""Tokenizers of checkpoint folders, loaded as keras-hub tokenizers with the checkpoint's own special tokens.

Which file gives which tokenizer (the first that exists wins):

    tokenizer.json with "class_name" keras-hub preset      keras-hub's own `Tokenizer.from_preset`
    vocab.json + merges.txt        byte-level BPE (GPT-2)  keras_hub GPT2Tokenizer
    vocab.txt                      WordPiece (BERT)        keras_hub BertTokenizer (do_lower_case from tokenizer_config.json)
    tokenizer.model                SentencePiece (Llama 2) keras_hub LlamaTokenizer / SentencePieceTokenizer
    tokenizer.json (Hugging Face)  BPE (Llama 3, Qwen2) or WordPiece, read with the `tokenizers` layout

No BPE is re-implemented: the keras-hub classes are used as they are. Special
token ids (pad, bos, eos, unk, mask, cls, sep) come from the tokenizer files
(special_tokens_map.json, tokenizer_config.json, added tokens), never from a
fixed table; `special_ids(tokenizer)` reports them, and a GPT-2 vocabulary without
a pad token pads with its end-of-text id.

Example:
    >>> tok = load_folder_tokenizer("path/to/gpt2")          # doctest: +SKIP
    >>> special_ids(tok)["eos"]                               # doctest: +SKIP
    50256
"""

import json
from pathlib import Path

from zoo.checkpoints.errors import CheckpointError

SPECIAL_NAMES = ("pad", "bos", "eos", "unk", "mask", "cls", "sep")
# keras-hub attribute names of each special token.
_KERAS_HUB_ATTRS = {
    "pad": "pad_token_id",
    "bos": "start_token_id",
    "eos": "end_token_id",
    "unk": "unk_token_id",
    "mask": "mask_token_id",
    "cls": "cls_token_id",
    "sep": "sep_token_id",
}
TOKENIZER_FILES = ("vocab.json + merges.txt", "vocab.txt", "tokenizer.model", "tokenizer.json")


def _json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise CheckpointError(f"{path} is not valid JSON ({error})") from None


def _token_text(value):
    # tokenizer_config.json stores a token either as "</s>" or as {"content": "</s>", ...}.
    if isinstance(value, dict):
        return value.get("content")
    return value


def declared_special_tokens(folder):
    """Special tokens a Hugging Face folder declares: {"pad": "<pad>", "eos": "</s>", ...}."""
    folder = Path(folder)
    found = {}
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        data = _json(folder / name) or {}
        for key in SPECIAL_NAMES:
            token = _token_text(data.get(f"{key}_token"))
            if token:
                found[key] = token
    return found


def is_keras_hub_tokenizer_file(path):
    data = _json(path) if Path(path).is_file() else None
    return isinstance(data, dict) and "class_name" in data


def load_folder_tokenizer(folder, family=None):
    """The tokenizer of a checkpoint folder, or None when the folder has no tokenizer files."""
    import keras_hub

    folder = Path(folder)
    if is_keras_hub_tokenizer_file(folder / "tokenizer.json"):
        tokenizer = keras_hub.models.Tokenizer.from_preset(str(folder))
        return _with_special_ids(tokenizer, {})
    declared = declared_special_tokens(folder)
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        merges = [
            line
            for line in (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
            if line and not line.startswith("#version")
        ]
        vocabulary = _json(folder / "vocab.json")
        tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
    elif (folder / "vocab.txt").is_file():
        config = _json(folder / "tokenizer_config.json") or {}
        vocabulary = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if vocabulary and vocabulary[-1] == "":
            vocabulary = vocabulary[:-1]
        lowercase = bool(config.get("do_lower_case", True))
        # Hugging Face's BERT strips accents whenever it lowercases unless strip_accents says otherwise
        # (Japanese: で -> て + dakuten -> て); keras-hub only does when asked.
        strip = config.get("strip_accents")
        tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=vocabulary, lowercase=lowercase, strip_accents=lowercase if strip is None else bool(strip)
        )
    elif (folder / "tokenizer.model").is_file():
        proto = (folder / "tokenizer.model").read_bytes()
        tokenizer = keras_hub.tokenizers.SentencePieceTokenizer(proto=proto)
    elif (folder / "tokenizer.json").is_file():
        tokenizer = _from_tokenizer_json(folder / "tokenizer.json", declared)
    else:
        return None
    return _with_special_ids(tokenizer, declared)


def _from_tokenizer_json(path, declared):
    """A keras-hub tokenizer from a Hugging Face tokenizer.json (byte-level BPE or WordPiece)."""
    import keras_hub

    data = _json(path)
    model = data.get("model", {})
    added = [token["content"] for token in data.get("added_tokens", [])]
    if model.get("type") == "BPE" and "ByteLevel" in json.dumps(data.get("pre_tokenizer")):
        vocabulary = dict(model["vocab"])
        for token in data.get("added_tokens", []):
            vocabulary[token["content"]] = token["id"]
        merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
        return keras_hub.tokenizers.BytePairTokenizer(vocabulary=vocabulary, merges=merges, unsplittable_tokens=added)
    if model.get("type") == "WordPiece":
        vocabulary = [token for token, _ in sorted(model["vocab"].items(), key=lambda item: item[1])]
        normalizer = data.get("normalizer") or {}
        lowercase = bool(normalizer.get("lowercase", False))
        strip = normalizer.get("strip_accents")
        return keras_hub.models.BertTokenizer(
            vocabulary=vocabulary, lowercase=lowercase, strip_accents=lowercase if strip is None else bool(strip)
        )
    raise CheckpointError(
        f"{path}: tokenizer model {model.get('type')!r} with this pre-tokenizer is not supported; "
        "supported: byte-level BPE and WordPiece tokenizer.json, or tokenizer.model (SentencePiece)"
    )


def _with_special_ids(tokenizer, declared):
    """Set the tokenizer's special ids from the tokens its folder declares; return it."""
    ids = {}
    for name, attr in _KERAS_HUB_ATTRS.items():
        token = declared.get(name)
        token_id = _id_of(tokenizer, token) if token else None
        if token_id is None:
            token_id = getattr(tokenizer, attr, None)
            # keras-hub fills GPT-2's and Llama's pad id with 0, which is a real token there ("!" in GPT-2):
            # a folder that declares no pad token pads with its end-of-text id instead.
            if name == "pad" and "pad" not in declared and not _is_pad_token(tokenizer, token_id):
                token_id = None
        ids[name] = token_id
    if ids["pad"] is None:
        ids["pad"] = ids["eos"] if ids["eos"] is not None else 0
    for name, attr in _KERAS_HUB_ATTRS.items():
        if ids[name] is not None:
            setattr(tokenizer, attr, int(ids[name]))
    # The SentencePiece model itself names unk/bos/eos when no config file does.
    if hasattr(tokenizer, "proto") and ids["eos"] is None:
        _sentencepiece_specials(tokenizer)
    return tokenizer


def _is_pad_token(tokenizer, token_id):
    if token_id is None:
        return False
    try:
        token = tokenizer.id_to_token(int(token_id))
    except Exception:  # noqa: BLE001 -- an id outside the vocabulary
        return False
    return token in ("[PAD]", "<pad>", "<|pad|>", "<|endoftext|>", "<unk>")


def _sentencepiece_specials(tokenizer):
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=tokenizer.proto)
    for attr, value in (
        ("start_token_id", processor.bos_id()),
        ("end_token_id", processor.eos_id()),
        ("unk_token_id", processor.unk_id()),
    ):
        if value >= 0:
            setattr(tokenizer, attr, int(value))
    pad = processor.pad_id()
    tokenizer.pad_token_id = int(pad if pad >= 0 else max(processor.eos_id(), 0))


def _id_of(tokenizer, token):
    try:
        value = tokenizer.token_to_id(token)
    except Exception:  # noqa: BLE001 -- keras-hub raises for a token outside the vocabulary
        return None
    return None if value is None else int(value)


def special_ids(tokenizer):
    """{"pad": id, "bos": id, "eos": id, ...} of a tokenizer (None where it has no such token).

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer, SPECIAL_TOKENS
        >>> special_ids(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS)))["mask"]
        4
    """
    out = {}
    for name, attr in _KERAS_HUB_ATTRS.items():
        value = getattr(tokenizer, attr, None)
        out[name] = None if value is None else int(value)
    return out


def tokenizer_files(tokenizer):
    """{file name: content} of a tokenizer in the Hugging Face layout (for save_pretrained)."""
    import keras_hub

    files = {}
    if isinstance(tokenizer, keras_hub.tokenizers.BytePairTokenizer):
        files["vocab.json"] = json.dumps(dict(tokenizer.vocabulary), ensure_ascii=False)
        files["merges.txt"] = "#version: 0.2\n" + "".join(f"{merge}\n" for merge in tokenizer.merges)
    elif isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        files["vocab.txt"] = "".join(f"{token}\n" for token in tokenizer.vocabulary)
    elif isinstance(tokenizer, keras_hub.tokenizers.SentencePieceTokenizer):
        files["tokenizer.model"] = bytes(tokenizer.proto)
    else:
        raise CheckpointError(f"cannot save a {type(tokenizer).__name__} in the Hugging Face layout")
    config = {"tokenizer_class": type(tokenizer).__name__}
    if isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        config["do_lower_case"] = bool(tokenizer.lowercase)
    ids = special_ids(tokenizer)
    for name, token_id in ids.items():
        if token_id is not None:
            config[f"{name}_token"] = tokenizer.id_to_token(token_id)
    files["tokenizer_config.json"] = json.dumps(config, ensure_ascii=False, indent=2)
    files["special_tokens_map.json"] = json.dumps(
        {k: v for k, v in config.items() if k.endswith("_token")}, ensure_ascii=False, indent=2
    )
    return files
