"""Where a fine-tuning run starts: a pretrained checkpoint, a quick built-in pretraining, or nothing.

- `load_pretrained(path)`: a `zoo pretrain-mlm` / `zoo pretrain-clm` run folder
  (its model.keras and tokenizer/), or a `.keras` file plus its tokenizer folder.
  The backbone keeps its weights; the pretraining head is dropped and the task
  head (`attach_head`) is new. A model of another architecture (seq2seq, or a
  causal backbone under extractive QA) and a tokenizer that was not the one the
  model was trained with are refused with a message that says what to pass.
- `quick_pretrained(texts, ...)`: with no prior run, train a SentencePiece
  tokenizer and pretrain a small masked LM for a few hundred steps on the
  built-in English corpus plus the task's own unlabelled training text, so the
  recipes run end to end offline.
- `from_scratch(...)`: the same tokenizer and encoder with random weights: the
  baseline that shows what pretraining adds.

Why the quick path trains its own tokenizer: the built-in corpus is English
(Python's documentation), so a tokenizer trained on it alone spells every
Japanese character as three UTF-8 byte pieces. Adding the task's training texts
(never the evaluation file) gives Japanese characters and the task's words their
own pieces; `features.byte_fallback_share` reports how much of a text still
falls back to bytes. A checkpoint's tokenizer can never be swapped (its ids
index the embedding table), so with --pretrained the checkpoint's tokenizer is
used as it is, byte fallback included.

Example:
    >>> backbone, tokenizer, info = load_pretrained("runs/pretrain-mlm-20260101-120000")  # doctest: +SKIP
    >>> model = attach_head("classifier", backbone, num_classes=3)                        # doctest: +SKIP
"""

from pathlib import Path

QUICK_CORPUS_DOCUMENTS = 30  # built-in documents mixed into the quick pretraining (4,000 characters each at most)


def _tokenizer_folder(path, tokenizer):
    if tokenizer is not None:
        return Path(tokenizer)
    return (path if path.is_dir() else path.parent) / "tokenizer"


def check_tokenizer(tokenizer, config, model_source, tokenizer_source):
    """Refuse a tokenizer whose ids do not index this model's embedding table the same way.

    Example:
        >>> from zoo.llm import LLMConfig
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer, SPECIAL_TOKENS
        >>> check_tokenizer(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["a"]),
        ...                 LLMConfig(vocab_size=8, hidden_dim=8, num_heads=2), "m.keras", "tok/")
    """
    from zoo.data.special_tokens import SPECIAL_TOKENS
    from zoo.data.tokenizer import tokenizer_kind

    size = int(tokenizer.vocabulary_size())
    try:
        tokenizer_kind(tokenizer)
    except TypeError:
        # An imported checkpoint's tokenizer brings its own special ids; an embedding may have spare rows.
        if size > config.vocab_size:
            raise ValueError(
                f"Tokenizer mismatch: {tokenizer_source} has {size} tokens but {model_source} embeds "
                f"{config.vocab_size}."
            ) from None
        return
    if size != config.vocab_size:
        raise ValueError(
            f"Tokenizer mismatch: {tokenizer_source} has {size} tokens but {model_source} embeds "
            f"{config.vocab_size}; they were not trained together. Pass the tokenizer folder saved "
            "with the pretraining run (--tokenizer <run>/tokenizer)."
        )
    for wanted, token in enumerate(SPECIAL_TOKENS):
        got = tokenizer.token_to_id(token)
        if got != wanted:
            raise ValueError(
                f"Tokenizer mismatch: {tokenizer_source} puts {token} at id {got}, zoo models expect "
                f"{wanted}; use a tokenizer made by `zoo data tokenizer` or a pretraining run."
            )


def load_pretrained(path, tokenizer=None):
    """(backbone, tokenizer, info) of a pretraining run folder or a .keras file.

    Args:
        path: a run folder holding model.keras (and tokenizer/), or a .keras file.
        tokenizer: the tokenizer folder; default: `tokenizer/` next to the model.

    Raises:
        FileNotFoundError: no model or no tokenizer where they should be.
        ValueError: a model without an encoder or decoder-only backbone, or a
            tokenizer that does not belong to the model.
    """
    from zoo.data.tokenizer import load_tokenizer
    from zoo.llm import load_llm
    from zoo.llm.models.backbone import CausalBackbone, EncoderBackbone
    from zoo.runs import find_run

    path = Path(path)
    if not path.is_dir() and path.suffix != ".keras":
        raise FileNotFoundError(f"--pretrained {path}: not a run folder nor a .keras file.")
    try:
        files = find_run(path, tokenizer)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err} (a finished `zoo pretrain-mlm` or `zoo pretrain-clm` run)") from None
    model_file = Path(files.model_file)
    tokenizer_folder = _tokenizer_folder(path, tokenizer) if files.tokenizer_dir is None else Path(files.tokenizer_dir)
    if not (tokenizer_folder / "tokenizer.json").is_file():
        raise FileNotFoundError(
            f"No tokenizer at {tokenizer_folder} for {model_file}: a pretrained model is only "
            "usable with the tokenizer it was trained with; pass --tokenizer <its folder>."
        )
    try:
        model = load_llm(model_file, compile=False)
    except Exception as err:  # a foreign or broken file: say which and why
        raise ValueError(f"Could not load {model_file} as a zoo model ({type(err).__name__}: {err}).") from err
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, (EncoderBackbone, CausalBackbone)):
        kind = type(backbone).__name__ if backbone is not None else type(model).__name__
        raise ValueError(
            f"{model_file} holds a {kind}; fine-tuning needs an encoder (from `zoo pretrain-mlm`) or "
            "a decoder-only model (from `zoo pretrain-clm`)."
        )
    loaded = load_tokenizer(tokenizer_folder)
    check_tokenizer(loaded, backbone.llm_config, model_file, tokenizer_folder)
    kind = "encoder" if isinstance(backbone, EncoderBackbone) else "causal"
    return (
        backbone,
        loaded,
        {"init": "pretrained", "source": str(model_file), "backbone": kind, "pretrained_task": type(model).__name__},
    )


def attach_head(task, backbone, num_classes=2):
    """A task model on `backbone`: "classifier" (sentiment, NLI) or "qa" (extractive spans).

    Example:
        >>> from zoo.llm import LLMConfig
        >>> from zoo.llm.models.backbone import CausalBackbone
        >>> attach_head("qa", CausalBackbone(LLMConfig(vocab_size=20, hidden_dim=8, num_heads=2, num_layers=1)))
        Traceback (most recent call last):
        ...
        ValueError: Extractive QA needs a bidirectional encoder (pretrain with `zoo pretrain-mlm`): each answer end must see the whole context, and this checkpoint holds a causal (pretrain-clm) backbone. Causal backbones work for finetune-nli and finetune-sentiment.
    """
    from zoo.llm.models.backbone import EncoderBackbone
    from zoo.llm.models.tasks import QuestionAnswering, SequenceClassifier

    if task == "qa":
        if not isinstance(backbone, EncoderBackbone):
            raise ValueError(
                "Extractive QA needs a bidirectional encoder (pretrain with `zoo pretrain-mlm`): each "
                "answer end must see the whole context, and this checkpoint holds a causal "
                "(pretrain-clm) backbone. Causal backbones work for finetune-nli and finetune-sentiment."
            )
        return QuestionAnswering(backbone)
    if task == "classifier":
        return SequenceClassifier(backbone, num_classes=num_classes)
    raise ValueError(f"Unknown task {task!r}: 'classifier' or 'qa'.")


def model_inputs(inputs, model):
    """Keep only the inputs the model takes (a backbone without segments has no segment_ids).

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("classifier", "tiny", num_layers=1, compile=False)
        >>> sorted(model_inputs({"token_ids": 1, "padding_mask": 1, "segment_ids": 0}, model))
        ['padding_mask', 'token_ids']
    """
    names = set(model.backbone.input)
    return {key: value for key, value in inputs.items() if key in names}


def builtin_texts(limit=QUICK_CORPUS_DOCUMENTS, max_chars=4000):
    """The first `limit` built-in corpus documents, each cut to `max_chars` (English prose)."""
    from zoo.data.builtin_corpus import load_builtin_corpus

    return [text[:max_chars] for text in load_builtin_corpus()[:limit]]


def encoder_config(preset, vocab_size, seq_len, dropout=0.1):
    """The preset (a name, or an LLMConfig JSON file) as a BERT-style encoder: two segments for
    sentence pairs, room for seq_len tokens.

    Example:
        >>> encoder_config("tiny", 1000, 300).max_length
        300
    """
    from zoo.llm.models.factory import preset_config

    base = preset_config(preset)
    return base.replace(
        vocab_size=int(vocab_size),
        max_length=max(base.max_length, seq_len),
        num_segments=2,
        next_sentence_prediction=False,
        dropout=dropout,
    )


def quick_tokenizer(task_texts, vocab_size=1000, seed=0):
    """A SentencePiece tokenizer trained on built-in English text plus the task's training texts."""
    from zoo.data.tokenizer import train_tokenizer

    return train_tokenizer(
        builtin_texts() + list(task_texts), kind="sentencepiece-unigram", vocab_size=vocab_size, seed=seed
    )


def from_scratch(task_texts, preset="tiny", seq_len=128, vocab_size=1000, seed=0, dropout=0.1):
    """(backbone with random weights, tokenizer, info): the no-pretraining baseline."""
    from zoo.llm.models.factory import build_backbone

    tokenizer = quick_tokenizer(task_texts, vocab_size, seed)
    config = encoder_config(preset, tokenizer.vocabulary_size(), seq_len, dropout)
    return build_backbone("encoder", config), tokenizer, {"init": "from-scratch", "backbone": "encoder"}


def quick_pretrained(
    task_texts,
    steps=300,
    preset="tiny",
    seq_len=128,
    vocab_size=1000,
    batch_size=16,
    learning_rate=1e-3,
    seed=0,
    dropout=0.1,
    verbose=1,
):
    """(backbone, tokenizer, info) after a short masked-LM pretraining with model.fit.

    The MLM sees the built-in corpus and the task's unlabelled training texts
    (domain-adaptive pretraining, as in Gururangan et al. 2020), windows of
    min(seq_len, 128) tokens, 15% masked, for `steps` fit steps.
    """
    import warnings

    import keras

    from zoo.data.pipelines import mlm_dataset
    from zoo.llm import build_llm
    from zoo.train.optimizer import build_optimizer
    from zoo.train.schedules import WarmupDecay

    if steps < 1:
        raise ValueError(f"--pretrain-steps must be at least 1 (or use --from-scratch), got {steps}.")
    tokenizer = quick_tokenizer(task_texts, vocab_size, seed)
    config = encoder_config(preset, tokenizer.vocabulary_size(), seq_len, dropout)
    model = build_llm("masked", config=config, compile=False)
    window = min(seq_len, 128)
    data = mlm_dataset(builtin_texts() + list(task_texts), tokenizer, window, batch_size, seed=seed).repeat()
    optimizer = build_optimizer(
        WarmupDecay(learning_rate, steps, max(1, steps // 10), "cosine", learning_rate / 10),
        weight_decay=0.01,
        clipnorm=1.0,
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
    )
    if verbose:
        print(
            f"quick pretraining: masked LM, {model.count_params():,} parameters, {steps} steps of "
            f"{batch_size} x {window} tokens on the built-in corpus + the task's training text"
        )
    # The stream is endless and shuffled by tf.data; Keras' warning about shuffle=True is noise here.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    first = model.fit(data, steps_per_epoch=1, epochs=1, shuffle=False, verbose=0)
    history = model.fit(data, steps_per_epoch=max(1, steps - 1), epochs=1, shuffle=False, verbose=verbose)
    info = {
        "init": "quick-mlm",
        "backbone": "encoder",
        "pretrain_steps": int(steps),
        "pretrain_first_loss": float(first.history["loss"][0]),
        "pretrain_final_loss": float(history.history["loss"][-1]),
    }
    return model.backbone, tokenizer, info
