"""Recipes choose XLA (jit_compile) by measuring on a CPU, or as forced."""

import pytest

from zoo.train.xla_choice import MIN_PROBE_STEPS, choose_jit_compile, sample_batch


@pytest.fixture(scope="module")
def model():
    from zoo.llm import build_llm

    return build_llm("causal", "tiny", num_layers=1, hidden_dim=16, num_heads=2, vocab_size=64, compile=False)


def test_forced_settings_and_short_runs_measure_nothing(model):
    def fail(message):
        raise AssertionError(f"measured although it should not: {message}")

    assert choose_jit_compile(model, 2, 8, "on", report=fail) is True
    assert choose_jit_compile(model, 2, 8, "off", report=fail) is False
    # Two compilations would cost more than a short run saves: Keras' own "auto" decides.
    assert choose_jit_compile(model, 2, 8, "auto", steps=MIN_PROBE_STEPS - 1, report=fail) == "auto"


def test_unknown_setting_is_refused(model):
    with pytest.raises(ValueError, match="one of auto, on, off"):
        choose_jit_compile(model, 2, 8, "yes")


def test_probe_batch_has_the_model_inputs_in_range(model):
    batch = sample_batch(model, 3, 5)
    assert set(batch) == {"token_ids", "padding_mask"}
    assert batch["token_ids"].shape == (3, 5) and batch["token_ids"].max() < 64
    assert (batch["padding_mask"] == 1).all()


def test_auto_on_a_cpu_measures_both_and_keeps_the_faster(model):
    lines = []
    choice = choose_jit_compile(model, 2, 8, "auto", steps=MIN_PROBE_STEPS, repeats=1, report=lines.append)
    assert isinstance(choice, bool)
    # The report names both timings and the choice it made from them.
    assert len(lines) == 1 and "with XLA" in lines[0] and f"XLA {'on' if choice else 'off'}" in lines[0]
