import json

import numpy as np
import pytest

from zoo.dialogue.chat_template import ChatTemplate
from zoo.dialogue.sft import encode_conversations, pack_rows, reply_loss, sft_arrays

CONVERSATIONS = [
    [
        {"role": "user", "content": "Repeat this sentence.\n\nSee the note."},
        {"role": "assistant", "content": "See the note."},
    ],
    [
        {"role": "user", "content": "What is the last word?\n\nLists are mutable."},
        {"role": "assistant", "content": "mutable"},
    ],
    [{"role": "user", "content": "Count the words.\n\nA B C."}, {"role": "assistant", "content": "3"}],
]


def test_prompt_targets_have_zero_weight(small_tokenizer):
    template = ChatTemplate.for_tokenizer(small_tokenizer)
    rows = encode_conversations(CONVERSATIONS, small_tokenizer, template)
    x, y, w = sft_arrays(rows, seq_len=64)
    for (ids, weights), targets, target_weights, mask in zip(rows, y, w, x["padding_mask"]):
        n = len(ids) - 1
        assert targets[:n].tolist() == ids[1:].tolist()
        assert target_weights[:n].tolist() == weights[1:].tolist()  # weight of each target = its token's role
        assert target_weights[n:].sum() == 0 and mask[n + 1 :].sum() == 0  # padding neither read nor learned
    # The first target with weight 1 is the first token of the reply, right after the assistant header.
    prompt, _ = template.encode(small_tokenizer, CONVERSATIONS[0][:1], add_generation_prompt=True)
    assert int(np.argmax(w[0])) == len(prompt) - 1 and w[0, : len(prompt) - 1].sum() == 0


def test_the_loss_ignores_prompt_targets(small_tokenizer):
    from zoo.llm import build_llm

    template = ChatTemplate.for_tokenizer(small_tokenizer)
    x, y, w = sft_arrays(encode_conversations(CONVERSATIONS, small_tokenizer, template), seq_len=48)
    model = build_llm("causal", "tiny", num_layers=1, vocab_size=small_tokenizer.vocabulary_size(), compile=False)
    scrambled = np.where(w == 0, (y + 7) % small_tokenizer.vocabulary_size(), y)
    assert reply_loss(model, x, y, w) == pytest.approx(reply_loss(model, x, scrambled, w), rel=1e-6)
    model.compile(metrics=[])
    before = model.evaluate(x, y, sample_weight=w, verbose=0)
    assert model.evaluate(x, scrambled, sample_weight=w, verbose=0) == pytest.approx(before, rel=1e-5)
    changed = np.where(w == 1, (y + 7) % small_tokenizer.vocabulary_size(), y)
    assert abs(model.evaluate(x, changed, sample_weight=w, verbose=0) - before) > 1e-4


def test_packing_keeps_every_assistant_token_in_fewer_rows(small_tokenizer):
    template = ChatTemplate.for_tokenizer(small_tokenizer)
    rows = encode_conversations(CONVERSATIONS * 4, small_tokenizer, template)
    packed = pack_rows(rows, seq_len=240)
    assert len(packed) < len(rows)
    assert sum(int(w.sum()) for _, w in packed) == sum(int(w.sum()) for _, w in rows)
    assert np.concatenate([i for i, _ in packed]).tolist() == np.concatenate([i for i, _ in rows]).tolist()
    _, _, w = sft_arrays(rows, seq_len=240, pack=True)
    # Only the very first token of a packed row is never a target; it is a prompt header (weight 0).
    assert w.sum() == sum(int(weights.sum()) for _, weights in rows)


@pytest.mark.recipe
def test_sft_recipe_writes_model_tokenizer_and_template_and_lowers_reply_loss(tmp_path):
    from zoo.cli import load_recipe
    from zoo.dialogue.synthetic import make_records

    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in make_records(60)[0]))
    results = load_recipe("sft").recipe.run(
        [
            "--data",
            str(data),
            "--steps",
            "30",
            "--seq-len",
            "64",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--verbose",
            "0",
            "--no-tensorboard",
            "--pack",
            "--lora-rank",
            "4",
        ]
    )
    run = results["run_dir"]
    assert results["held_out_loss_after"] < results["held_out_loss_before"]
    assert results["lora_trainable_params"] > 0
    template = ChatTemplate.load(run)
    from zoo.runs import read_run

    model, tokenizer, _ = read_run(run)
    assert template.end_of_turn_id == tokenizer.end_token_id
    assert not [w for w in model.weights if "lora" in w.path]  # the adapters were merged before saving
