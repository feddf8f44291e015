"""Starting points: a saved masked LM + tokenizer, and clear errors for other architectures or tokenizers."""

import numpy as np
import pytest

from tests.finetune.conftest import TINY
from zoo.finetune.pretrained import attach_head, load_pretrained, model_inputs


def test_run_folder_backbone_keeps_its_weights_under_new_heads(mlm_run):
    folder, mlm = mlm_run
    backbone, tokenizer, info = load_pretrained(folder)
    assert info["backbone"] == "encoder" and info["pretrained_task"] == "MaskedLM"
    assert tokenizer.vocabulary_size() == backbone.llm_config.vocab_size
    for a, b in zip(backbone.get_weights(), mlm.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    ids = np.array([[2, 40, 41, 3, 50, 3]])
    x = {"token_ids": ids, "padding_mask": np.ones_like(ids), "segment_ids": np.array([[0, 0, 0, 0, 1, 1]])}
    classifier = attach_head("classifier", backbone, num_classes=3)
    qa = attach_head("qa", backbone)
    assert tuple(classifier(model_inputs(x, classifier)).shape) == (1, 3)
    assert tuple(qa(model_inputs(x, qa))["start_logits"].shape) == (1, 6)


def test_tokenizer_mismatch_is_refused(mlm_run, tmp_path):
    from zoo.data.tokenizer import save_tokenizer, train_tokenizer

    folder, _ = mlm_run
    other = save_tokenizer(train_tokenizer(["the cat sat"] * 20, vocab_size=270), tmp_path / "other")
    with pytest.raises(ValueError, match=r"Tokenizer mismatch: .*other has 270 tokens but .*model.keras embeds 800"):
        load_pretrained(folder / "model.keras", tokenizer=other)
    with pytest.raises(FileNotFoundError, match="No tokenizer at"):
        load_pretrained(folder / "model.keras", tokenizer=tmp_path / "missing")


def test_other_architectures_are_refused(tmp_path, bilingual_tokenizer):
    from zoo.data.tokenizer import save_tokenizer
    from zoo.llm import build_llm

    save_tokenizer(bilingual_tokenizer, tmp_path / "tokenizer")
    size = bilingual_tokenizer.vocabulary_size()
    import keras

    # A model that is not a zoo LLM (a seq2seq or any other Keras model) has no backbone to fine-tune.
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="holds a Sequential; fine-tuning needs an encoder"):
        load_pretrained(tmp_path / "other.keras")
    causal = {k: v for k, v in TINY.items() if k != "num_segments"}
    build_llm("causal", "tiny", vocab_size=size, compile=False, **causal).save(tmp_path / "clm.keras")
    backbone, _, info = load_pretrained(tmp_path / "clm.keras")
    assert info["backbone"] == "causal"
    assert attach_head("classifier", backbone, num_classes=2).count_params() > 0  # NLI/sentiment: fine
    with pytest.raises(ValueError, match="Extractive QA needs a bidirectional encoder"):
        attach_head("qa", backbone)
    with pytest.raises(FileNotFoundError, match="has no model.keras"):
        load_pretrained(tmp_path / "tokenizer")
