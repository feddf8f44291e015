"""Sample prompts come from the corpus (its validation documents, its language), or from --prompt."""

import argparse

from tests.data.japanese_sample import JAPANESE_DOCUMENTS
from zoo.data.builtin_corpus import load_builtin_corpus
from zoo.data.language import is_japanese
from zoo.data.prompts import add_prompt_argument, corpus_prompts, resolve_prompts


def test_japanese_corpus_gives_japanese_prompts_from_its_own_text():
    mixed = JAPANESE_DOCUMENTS + ["An English note that slipped into the corpus, as such notes do."]
    prompts = corpus_prompts(mixed, count=4, seed=0)
    assert len(prompts) == 4 and len(set(prompts)) == 4
    for prompt in prompts:
        assert is_japanese(prompt) and any(prompt in doc for doc in JAPANESE_DOCUMENTS)
        assert 1 < len(prompt) <= 10  # an opening to continue, not a whole sentence


def test_english_corpus_gives_english_openings_and_seed_changes_the_choice():
    texts = load_builtin_corpus()
    prompts = corpus_prompts(texts, count=3, seed=0)
    assert len(prompts) == 3 and all(p.endswith(" ") and p[0].isupper() for p in prompts)
    assert all(any(p in text for text in texts) for p in prompts)
    assert corpus_prompts(texts, count=3, seed=0) == prompts
    assert corpus_prompts(texts, count=3, seed=1) != prompts


def test_given_prompts_win_and_the_option_repeats():
    parser = add_prompt_argument(argparse.ArgumentParser())
    args = parser.parse_args(["--prompt", "猫は", "--prompt", "犬が"])
    assert resolve_prompts(args.prompt, JAPANESE_DOCUMENTS) == ["猫は", "犬が"]
    assert parser.parse_args([]).prompt is None
    assert resolve_prompts(None, JAPANESE_DOCUMENTS, count=2) == corpus_prompts(JAPANESE_DOCUMENTS, count=2)


def test_no_prose_still_gives_a_prompt():
    assert corpus_prompts(["| 1 | 2 |\n| 3 | 4 |"], count=2) == ["| 1 | 2 "[:8]]
    assert corpus_prompts([], count=2) == []


def test_fill_in_examples_hide_one_real_token_and_the_model_guesses():
    import numpy as np

    from zoo.data.tokenizer import train_tokenizer
    from zoo.llm import build_llm
    from zoo.train.fill_in import fill_in_examples, fill_in_lines, predict_fill_ins

    tokenizer = train_tokenizer(JAPANESE_DOCUMENTS * 5, vocab_size=510)
    examples = fill_in_examples(JAPANESE_DOCUMENTS, tokenizer, count=3, seed=0)
    assert len(examples) == 3
    for example in examples:
        ids = example["token_ids"]
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id and len(ids) <= 32
        assert ids.count(tokenizer.mask_token_id) == 1 and ids[example["position"]] == tokenizer.mask_token_id
        # Putting the answer back gives the sentence's own tokens.
        restored = ids[1:-1]
        restored[example["position"] - 1] = example["answer"]
        own = [int(i) for i in np.asarray(tokenizer.tokenize(example["text"])).ravel()]
        assert restored == own[: len(restored)] and example["answer"] >= 7
        assert "[MASK]" in example["masked_text"] and is_japanese(example["masked_text"])
    for nsp in (False, True):
        extra = dict(num_segments=2, next_sentence_prediction=True) if nsp else {}
        model = build_llm("masked", "tiny", num_layers=1, vocab_size=tokenizer.vocabulary_size(), **extra)
        guesses = predict_fill_ins(model, tokenizer, examples, top_k=3)
        assert all(len(g) == 3 and abs(sum(p for _, p in g)) <= 1 + 1e-6 for g in guesses)
        assert len(fill_in_lines(model, tokenizer, examples)) == 3
