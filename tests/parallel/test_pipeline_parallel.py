"""GPipe pipeline: schedule, simulated bubble, gradients equal to the unsplit model's, and errors."""

import numpy as np
import pytest

from zoo.parallel.pipeline_parallel import (
    GPipe,
    bubble_fraction,
    full_batch_gradients,
    gpipe_order,
    simulate_gpipe,
    split_blocks,
)


@pytest.mark.parametrize("stages, micro_batches", [(2, 1), (2, 4), (4, 8), (3, 16)])
def test_equal_stages_simulate_to_the_formula(stages, micro_batches):
    equal = {item: 0.5 for item in gpipe_order(stages, micro_batches)}
    assert simulate_gpipe(equal, stages, micro_batches)["bubble"] == pytest.approx(
        bubble_fraction(stages, micro_batches)
    )
    assert bubble_fraction(stages, micro_batches) == (stages - 1) / (micro_batches + stages - 1)


def test_a_slow_stage_makes_a_bigger_bubble_than_the_formula():
    durations = {item: (3.0 if item[1] == 1 else 1.0) for item in gpipe_order(2, 4)}
    assert simulate_gpipe(durations, 2, 4)["bubble"] > bubble_fraction(2, 4)


def test_blocks_split_into_consecutive_stages():
    assert split_blocks(4, 2) == [[0, 1], [2, 3]]
    assert split_blocks(3, 3) == [[0], [1], [2]]
    with pytest.raises(ValueError, match="Cannot cut 2 transformer blocks into 3 pipeline stages"):
        split_blocks(2, 3)


def test_gradients_equal_the_unsplit_model_and_training_lowers_the_loss():
    import keras

    from zoo.llm import LLMConfig, build_llm

    config = LLMConfig(vocab_size=64, max_length=16, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32)
    model = build_llm("causal", config=config, compile=False)
    ids = np.random.default_rng(0).integers(7, 64, (8, 9)).astype("int32")
    x, y = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}, ids[:, 1:]
    pipeline = GPipe(model, num_stages=2, micro_batches=4)
    loss, grads, timings = pipeline.gradients(x, y)
    reference_loss, reference = full_batch_gradients(model, x, y)
    by_id = {id(v): g for v, g in zip(model.trainable_variables, reference)}
    assert len(pipeline.variables) == len(model.trainable_variables)  # the tied embedding counted once
    assert float(loss) == pytest.approx(float(reference_loss), abs=1e-5)
    for g, v in zip(grads, pipeline.variables):
        np.testing.assert_allclose(np.asarray(g), np.asarray(by_id[id(v)]), atol=1e-5, err_msg=v.path)
    assert set(timings) == set(gpipe_order(2, 4))
    assert 0 <= pipeline.bubble(timings)["bubble"] < 1

    optimizer = keras.optimizers.Adam(1e-2)
    losses = [pipeline.train_step(x, y, optimizer)[0] for _ in range(2)]
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="batch of 6 does not split into 4 equal micro-batches"):
        pipeline.gradients({k: v[:6] for k, v in x.items()}, y[:6])
