"""The causal LM an SFT or DPO run starts from: a run folder (zoo-trained or `zoo import`ed), or a fresh tiny one.

With `--from RUN` the model, its tokenizer and (if the run was instruction-tuned
already) its chat template are read from the run folder. Without it a tiny
causal LM is built from scratch with a SentencePiece tokenizer trained on the
built-in corpus plus the training texts: enough to watch the mechanics on a
CPU in a minute, not a useful assistant (pretrain first for that).

Example:
    >>> model, tokenizer, template = start_model(None, texts=["Hello there."], seq_len=32)  # doctest: +SKIP
"""

import os

from zoo.errors import UsageError


def start_model(path, texts=(), seq_len=128, preset="tiny", vocab_size=1000, seed=0):
    """(causal LM, tokenizer, chat template) from a run folder, or a fresh `preset` model when path is None."""
    from zoo.dialogue.chat_template import TEMPLATE_FILE, ChatTemplate

    if path is not None:
        from zoo.runs import read_run

        model, tokenizer, _ = read_run(path)
        if not hasattr(model, "call_with_cache"):
            raise UsageError(f"{path} holds a {type(model).__name__}; instruction tuning needs a causal LM.")
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        has_template = os.path.isfile(os.path.join(folder, TEMPLATE_FILE))
        template = ChatTemplate.load(folder) if has_template else ChatTemplate.for_tokenizer(tokenizer)
        if model.llm_config.max_length < seq_len + 1:
            raise UsageError(
                f"--seq-len {seq_len} is longer than {path}'s max_length {model.llm_config.max_length}; "
                f"use --seq-len {model.llm_config.max_length - 1} or less."
            )
        model.attach_tokenizer(tokenizer)
        return model, tokenizer, template
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.tokenizer import train_tokenizer
    from zoo.llm import build_llm

    tokenizer = train_tokenizer(list(load_builtin_corpus()[:60]) + list(texts), vocab_size=vocab_size, seed=seed)
    model = build_llm(
        "causal", preset, vocab_size=tokenizer.vocabulary_size(), max_length=max(seq_len + 1, 64), compile=False
    )
    model.attach_tokenizer(tokenizer)
    return model, tokenizer, ChatTemplate.for_tokenizer(tokenizer)


def conversation_texts(conversations):
    """Every message's content, for training a tokenizer that covers the data."""
    return [m["content"] for messages in conversations for m in messages]
