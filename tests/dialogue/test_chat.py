import json
import os

import pytest

from zoo.dialogue.chat_cli import chat_loop, main
from zoo.dialogue.chat_template import ChatTemplate
from zoo.dialogue.replies import decode_ids
from zoo.dialogue.streaming import stream_tokens
from zoo.llm import build_llm
from zoo.llm.models.generation import generate


@pytest.fixture(scope="module")
def chat_model(small_tokenizer):
    return build_llm(
        "causal", "tiny", num_layers=1, vocab_size=small_tokenizer.vocabulary_size(), max_length=128, compile=False
    )


def test_streamed_tokens_equal_greedy_generate_and_stop_at_end_of_turn(chat_model):
    prompt = [5, 40, 41, 42]
    reference = generate(chat_model, prompt, max_new_tokens=12)
    assert list(stream_tokens(chat_model, prompt, max_new_tokens=12, stop_id=-1)) == reference
    stop = reference[3]
    assert (
        list(stream_tokens(chat_model, prompt, max_new_tokens=12, stop_id=stop)) == reference[: reference.index(stop)]
    )


def test_chat_loop_is_multi_turn_and_uses_the_template(chat_model, small_tokenizer):
    template = ChatTemplate.for_tokenizer(small_tokenizer)
    out = []
    messages = chat_loop(
        chat_model,
        small_tokenizer,
        template,
        ["Hello there.", "And the last?", "/quit", "never"],
        out.append,
        system="Be brief.",
        max_new_tokens=6,
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    # Independent reference: each reply is greedy generate() on the template's prompt of the conversation so far.
    for turn in (2, 4):
        ids, _ = template.encode(small_tokenizer, messages[:turn], add_generation_prompt=True)
        expected = generate(chat_model, ids.tolist(), max_new_tokens=6, stop_token_ids=[template.end_of_turn_id])
        assert messages[turn]["content"] == decode_ids(small_tokenizer, expected).strip()
    assert "".join(out).count("assistant> ") == 2  # "never" came after /quit
    reset = chat_loop(
        chat_model, small_tokenizer, template, ["Hi.", "/reset", "Hi again."], out.append, max_new_tokens=2
    )
    assert [m["content"] for m in reset if m["role"] == "user"] == ["Hi again."]


def test_chat_refuses_a_folder_without_a_template(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no chat template" in capsys.readouterr().err


def test_the_exported_saved_model_carries_the_chat_template(tmp_path, chat_model, small_tokenizer):
    from zoo.data.tokenizer import save_tokenizer
    from zoo.export.saved_model import export_saved_model
    from zoo.runs import save_model_atomic

    run = tmp_path / "sft-run"
    save_model_atomic(chat_model, str(run / "model.keras"))
    save_tokenizer(small_tokenizer, run / "tokenizer")
    template = ChatTemplate.for_tokenizer(small_tokenizer)
    template.save(run)
    result = export_saved_model(str(run), output=str(tmp_path / "saved"), name="chat", check=False)
    shipped = os.path.join(result.path, "assets", "chat_template.json")
    assert ChatTemplate.load(shipped) == template
    with open(os.path.join(result.path, "assets.extra", "zoo_export.json")) as f:
        manifest = json.load(f)
    assert manifest["chat_template"] == template.to_dict() and manifest["stop_token_id"] == template.end_of_turn_id
