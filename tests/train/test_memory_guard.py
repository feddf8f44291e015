"""Every LLM fit helper checks the memory estimate against the machine's free memory before training.

Pretraining and fine-tuning check in their own loops; these are the shared loops of the compression
(LoRA, distill), dialogue (SFT, DPO) and reasoning recipes.
"""

import numpy as np
import pytest

from zoo.errors import UsageError


@pytest.fixture
def tiny_lm():
    import dataclasses

    from zoo.llm import build_llm
    from zoo.llm.models.presets import get_preset

    return build_llm("causal", config=dataclasses.replace(get_preset("tiny"), vocab_size=64, max_length=32))


@pytest.fixture
def little_memory(monkeypatch):
    import zoo.train.memory_check as memory_check

    monkeypatch.setattr(memory_check, "available_memory", lambda: 2**20)  # 1 MiB free: no batch fits


def test_compression_fit_refuses_before_training(tiny_lm, little_memory):
    from zoo.compress.llm_source import fit_steps

    windows = np.zeros((8, 16), "int32")
    before = [w.copy() for w in tiny_lm.get_weights()]
    with pytest.raises(UsageError, match="this machine has free"):
        fit_steps(tiny_lm, (windows, windows), steps=1, batch_size=4, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, tiny_lm.get_weights()))  # nothing trained


def test_dialogue_fit_refuses_before_training(tiny_lm, little_memory):
    from zoo.dialogue.fitting import fit_for_steps

    x = {"token_ids": np.zeros((8, 16), "int32"), "padding_mask": np.ones((8, 16), bool)}
    with pytest.raises(UsageError, match="not even a batch of 1 fits"):
        fit_for_steps(tiny_lm, (x, np.zeros((8, 16), "int32")), steps=1, batch_size=4, verbose=0)


def test_enough_memory_passes(tiny_lm):
    from zoo.train.memory_check import check_model_fits

    assert check_model_fits(tiny_lm, 4, 16)["total"] > 0
    assert check_model_fits(object(), 4, 16) is None  # not an LLM: nothing to check
