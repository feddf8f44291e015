import json

import keras
import numpy as np
import pytest

from zoo.dialogue.dpo import (
    DPOTrainer,
    dpo_loss,
    frozen_copy,
    mean_margin,
    pair_arrays,
    preference_accuracy,
    sequence_logprob,
)
from zoo.llm import build_llm


def tiny_policy():
    return build_llm(
        "causal", "tiny", num_layers=1, hidden_dim=32, intermediate_dim=64, vocab_size=40, max_length=16, compile=False
    )


def toy_pairs(n=32):
    """Prompt [5, 10 + k]; the right reply is 30 - k, the wrong one repeats the prompt's token (10 + k).

    Repeating is what an untrained model with tied embeddings leans to, so the reference prefers the wrong reply.
    """
    return [([5, 10 + k % 8], [30 - k % 8, 6], [10 + k % 8, 6]) for k in range(n)]


def test_loss_is_the_closed_form():
    pc, pr, rc, rr = (np.array(v, "float32") for v in ([-1.0, -4.0], [-3.0, -2.0], [-2.0, -3.0], [-2.5, -2.5]))
    loss, margin = dpo_loss(pc, pr, rc, rr, beta=0.5)
    z = 0.5 * ((pc - rc) - (pr - rr))
    np.testing.assert_allclose(np.asarray(margin), z, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(loss), np.log1p(np.exp(-z)), rtol=1e-5)


def test_sequence_logprob_sums_only_reply_tokens():
    model = tiny_policy()
    arrays = pair_arrays(toy_pairs(2), seq_len=6)
    ids, mask, weights = arrays["chosen_ids"], arrays["chosen_mask"], arrays["chosen_weights"]
    logits = np.asarray(model({"token_ids": ids[:, :-1], "padding_mask": mask[:, :-1]}), "float64")
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    # By hand: the reply occupies positions 2 and 3 ([prompt 2 tokens][reply 2 tokens]); each is predicted from t-1.
    expected = [logp[i, 1, ids[i, 2]] + logp[i, 2, ids[i, 3]] for i in range(2)]
    assert weights[:, 2:4].sum() == 4 and weights.sum() == 4
    np.testing.assert_allclose(np.asarray(sequence_logprob(model, ids, mask, weights)), expected, rtol=1e-4)


def test_dpo_grows_the_margin_and_beats_the_reference_on_a_known_preference():
    keras.utils.set_random_seed(1)
    policy = tiny_policy()
    reference = frozen_copy(policy)
    arrays = pair_arrays(toy_pairs(), seq_len=6)
    trainer = DPOTrainer(policy, reference, beta=0.5)
    trainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    assert mean_margin(trainer, arrays) == pytest.approx(0.0, abs=1e-5)  # policy == reference at the start
    reference_accuracy = preference_accuracy(reference, arrays)
    weights_before = [np.array(w) for w in reference.get_weights()]
    history = trainer.fit(arrays, batch_size=16, epochs=15, verbose=0, shuffle=False)
    margins = history.history["reward_margin"]
    assert margins[-1] > margins[0] and mean_margin(trainer, arrays) > 1.0
    assert preference_accuracy(policy, arrays) == 1.0 > reference_accuracy
    assert history.history["loss"][-1] < np.log(2)
    # The reference stayed frozen.
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, reference.get_weights()))


@pytest.mark.recipe
def test_dpo_recipe_from_an_sft_run(tmp_path):
    from zoo.cli import load_recipe
    from zoo.dialogue.synthetic import make_records

    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in make_records(40)[1]))
    common = ["--runs-dir", str(tmp_path / "runs"), "--verbose", "0", "--no-tensorboard", "--seq-len", "64"]
    results = load_recipe("dpo").recipe.run(["--data", str(data), "--steps", "30", "--sft-steps", "20", *common])
    assert results["train_reward_margin"] > 0
    assert results["policy_train_preference_accuracy"] > results["reference_train_preference_accuracy"]
    from zoo.dialogue.chat_template import ChatTemplate

    assert ChatTemplate.load(results["run_dir"]).end_of_turn_id == 6
