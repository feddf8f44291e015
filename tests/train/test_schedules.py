import numpy as np
import pytest

from zoo.train.schedules import WarmupDecay


def values(schedule, steps):
    return np.array([float(schedule(s)) for s in steps])


def test_warmup_rises_linearly_to_the_peak():
    schedule = WarmupDecay(1e-3, total_steps=100, warmup_steps=10)
    warm = values(schedule, range(10))
    np.testing.assert_allclose(warm, 1e-3 * np.arange(1, 11) / 10, rtol=1e-5)


@pytest.mark.parametrize("decay", ["cosine", "linear"])
def test_decay_goes_from_peak_to_floor_monotonically(decay):
    schedule = WarmupDecay(1e-3, total_steps=100, warmup_steps=10, decay=decay, min_learning_rate=1e-4)
    after = values(schedule, range(10, 101))
    assert after[0] == pytest.approx(1e-3, rel=1e-5)
    assert after[-1] == pytest.approx(1e-4, rel=1e-5)
    assert np.all(np.diff(after) <= 1e-9)
    # Halfway through the decay cosine and linear agree on the midpoint.
    assert float(schedule(55)) == pytest.approx(5.5e-4, rel=1e-4)


def test_cosine_stays_high_longer_than_linear():
    cosine = WarmupDecay(1e-3, 100, 0, "cosine")
    linear = WarmupDecay(1e-3, 100, 0, "linear")
    assert float(cosine(25)) > float(linear(25))
    assert float(cosine(75)) < float(linear(75))


def test_constant_holds_the_peak_and_serializes():
    schedule = WarmupDecay(2e-3, 50, warmup_steps=5, decay="constant")
    assert values(schedule, [5, 30, 50, 80]).tolist() == pytest.approx([2e-3] * 4)
    again = WarmupDecay.from_config(schedule.get_config())
    assert float(again(3)) == pytest.approx(float(schedule(3)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(decay="step"), "Unknown decay 'step'"),
        (dict(peak_learning_rate=0), "peak learning rate must be > 0"),
        (dict(min_learning_rate=1.0), "minimum learning rate"),
        (dict(warmup_steps=200), "warmup_steps must be in"),
        (dict(total_steps=0), "total_steps must be at least 1"),
    ],
)
def test_bad_settings_say_which(kwargs, message):
    settings = dict(peak_learning_rate=1e-3, total_steps=100, warmup_steps=10, decay="cosine", min_learning_rate=0.0)
    settings.update(kwargs)
    with pytest.raises(ValueError, match=message):
        WarmupDecay(**settings)
