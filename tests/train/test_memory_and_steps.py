import pytest

from zoo.llm.models.presets import get_preset
from zoo.train.memory_check import MemoryBudgetError, check_memory, parse_memory, training_memory
from zoo.train.pretraining import schedule_steps


def test_remat_and_mixed_precision_lower_the_estimate_and_accumulation_adds_an_accumulator():
    config = get_preset("small")
    plain = training_memory(config, batch_size=8, seq_len=512)
    assert training_memory(config, 8, 512, remat=True)["activations"] < 0.5 * plain["activations"]
    assert training_memory(config, 8, 512, precision="mixed_bfloat16")["activations"] < plain["activations"]
    accumulated = training_memory(config, 8, 512, accum_steps=4)
    assert accumulated["accumulators"] == plain["gradients"]
    assert accumulated["total"] == plain["total"] + plain["gradients"]


def test_the_largest_batch_named_in_the_error_really_fits():
    config = get_preset("small")
    with pytest.raises(MemoryBudgetError) as err:
        check_memory(config, batch_size=256, seq_len=512, max_memory="2GiB")
    fits = int(str(err.value).split("the largest batch that fits is ")[1].split()[0])
    assert check_memory(config, fits, 512, "2GiB")["total"] <= parse_memory("2GiB")
    with pytest.raises(MemoryBudgetError):
        check_memory(config, fits + 1, 512, "2GiB")


@pytest.mark.parametrize(
    "text, expected", [("800MB", 800 * 10**6), ("2GiB", 2 * 2**30), ("1.5 gb", 1.5 * 10**9), ("4096", 4096)]
)
def test_memory_budgets_parse(text, expected):
    assert parse_memory(text) == int(expected)


def test_steps_round_up_to_whole_validation_intervals_and_epochs_count_passes():
    assert schedule_steps(250, None, 100, batches_per_pass=40) == (300, 100)
    assert schedule_steps(999, 2.5, 50, batches_per_pass=40) == (100, 50)  # 2.5 passes of 40 batches
    assert schedule_steps(20, None, 100, batches_per_pass=40) == (20, 20)  # a short run still validates at its end
