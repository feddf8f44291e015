"""Tiny zoo models saved as run folders, the way recipes write them, for the export tests."""

import json
import os
import subprocess
import sys

import pytest

VERIFY_SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "zoo", "export", "verify.py")
LM_VOCAB = 400  # the SentencePiece tokenizer below has exactly this many pieces


def make_run_folder(root, recipe, model, **extra_config):
    """runs/<recipe>/ with model.keras and config.json, as `zoo.runs.RunFolder` writes them."""
    from zoo.runs import atomic_write_json, save_model_atomic

    folder = os.path.join(root, recipe)
    os.makedirs(folder)
    save_model_atomic(model, os.path.join(folder, "model.keras"))
    atomic_write_json(os.path.join(folder, "config.json"), {"recipe": recipe, **extra_config})
    return folder


def tiny_cnn():
    from zoo.vision.cnn import build_cnn

    return build_cnn(filters=(4, 8, 8), dense_units=16, compile=False)


def tiny_lstm(vocab_size):
    from zoo.text.lstm_generator import build_lstm_generator

    return build_lstm_generator(vocab_size, sequence_length=8, embedding_dim=8, lstm_units=8, compile=False)


def tiny_gan():
    from zoo.gan.gan import build_gan

    return build_gan(latent_dim=8, compile=False)


def tiny_vgg16():
    from zoo.vision.vgg16_transfer import build_vgg16_transfer

    return build_vgg16_transfer(num_classes=3, weights=None, input_shape=(32, 32, 3), dense_units=8, compile=False)


def tiny_lm():
    from zoo.llm import build_llm

    return build_llm(
        "causal",
        "tiny",
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        vocab_size=LM_VOCAB,
        max_length=48,
        compile=False,
    )


@pytest.fixture(scope="session")
def lm_tokenizer_dir(tmp_path_factory):
    """A SentencePiece tokenizer folder (tokenizer.json + sentencepiece.model) with LM_VOCAB pieces."""
    from zoo.data.builtin_corpus import load_builtin_corpus
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    tokenizer = train_tokenizer(load_builtin_corpus()[:40], kind="sentencepiece-unigram", vocab_size=LM_VOCAB)
    return str(save_tokenizer(tokenizer, tmp_path_factory.mktemp("tokenizer")))


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory, lm_tokenizer_dir):
    """(run folder with model.keras + tokenizer/, the Keras model) of a one-block causal LM."""
    import shutil

    model = tiny_lm()
    folder = make_run_folder(str(tmp_path_factory.mktemp("runs")), "train-llm", model, tokenizer="tokenizer")
    shutil.copytree(lm_tokenizer_dir, os.path.join(folder, "tokenizer"))
    return folder, model


def run_verifier(args, timeout=300):
    """Run zoo/export/verify.py in a fresh Python process; returns (exit code, parsed JSON report)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, VERIFY_SCRIPT, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"verify.py printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
