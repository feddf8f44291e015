from zoo.dialogue.chat_template import ChatTemplate, tokenize_many

CONVERSATION = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is the first word of this sentence?\n\nSee the note."},
    {"role": "assistant", "content": "See"},
    {"role": "user", "content": "And the last?"},
    {"role": "assistant", "content": "note"},
]


def test_only_the_assistant_tokens_and_their_end_of_turn_weigh_one(small_tokenizer):
    template = ChatTemplate.for_tokenizer(small_tokenizer)
    ids, weights = template.encode(small_tokenizer, CONVERSATION)
    assert ids.shape == weights.shape
    # Independent reference: the assistant contents tokenized on their own, each followed by </s>.
    expected = []
    for reply in ("See", "note"):
        expected += tokenize_many(small_tokenizer, [reply])[0] + [small_tokenizer.end_token_id]
    assert ids[weights == 1].tolist() == expected
    # Every prompt token (system, user, headers) has weight zero, and the prompt is all there.
    prompt_ids, prompt_weights = template.encode(small_tokenizer, CONVERSATION[:2], add_generation_prompt=True)
    assert prompt_weights.sum() == 0
    assert ids[: len(prompt_ids)].tolist() == prompt_ids.tolist()


def test_the_end_of_turn_is_the_tokenizers_end_token(small_tokenizer):
    template = ChatTemplate.for_tokenizer(small_tokenizer)
    assert template.end_of_turn_id == small_tokenizer.end_token_id == 6
    ids, _ = template.encode(small_tokenizer, CONVERSATION[1:3])
    assert (ids == 6).sum() == 2  # one per turn


def test_render_text_and_save_load_round_trip(tmp_path):
    template = ChatTemplate(
        headers={"system": "S: ", "user": "U: ", "assistant": "A: "},
        end_of_turn="<eot>",
        end_of_turn_id=9,
        separator="|",
    )
    assert template.render_text(CONVERSATION[1:3]) == (
        "U: What is the first word of this sentence?\n\nSee the note.<eot>|A: See<eot>|"
    )
    template.save(tmp_path)
    assert ChatTemplate.load(tmp_path) == template
