"""Bad input is a clear error, not a silent wrong answer."""

import numpy as np
import pytest

from zoo.llm import build_llm

from .conftest import TINY, inputs_for


@pytest.fixture(scope="module")
def model():
    return build_llm("causal", config=TINY)


def _ids(values):
    ids = np.array(values, "int32")
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}


def test_token_id_beyond_the_vocabulary(model):
    bad = _ids([[1, 2, 64]])
    message = r"token_ids contains id 64, outside the vocabulary \[0, 64\)"
    with pytest.raises(ValueError, match=message):
        model(bad)
    with pytest.raises(ValueError, match=message):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.fit(bad, np.zeros((1, 3), "int32"), verbose=0)
    with pytest.raises(ValueError, match="contains id -3"):
        model(_ids([[1, -3]]))


def test_input_longer_than_max_length(model):
    too_long = _ids([[1] * (TINY["max_length"] + 1)])
    message = "has 17 tokens but the model's max_length is 16"
    with pytest.raises(ValueError, match=message):
        model(too_long)
    with pytest.raises(ValueError, match=message):
        model.predict(too_long, verbose=0)


def test_segment_id_beyond_num_segments():
    classifier = build_llm("classifier", config=dict(TINY, num_segments=2), compile=False)
    x = inputs_for("classifier", segments=True)
    x["segment_ids"][0, 0] = 2
    with pytest.raises(ValueError, match=r"segment_ids contains id 2, outside the vocabulary \[0, 2\)"):
        classifier(x)


def test_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="hidden_dim=30 is not divisible by num_heads=4"):
        build_llm("causal", "tiny", hidden_dim=30)


def test_wrong_backbone_for_a_head():
    with pytest.raises(ValueError, match="Extractive QA needs a bidirectional 'encoder' backbone"):
        build_llm("qa", "tiny", backbone_type="causal")
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        build_llm("classifier", "tiny", num_classes=1)


def test_old_keyword_names_still_work_with_a_deprecation_warning():
    # kind= and backbone= (a string) were renamed task= and backbone_type=; old calls keep working.
    with pytest.warns(DeprecationWarning, match="backbone_type"):
        model = build_llm("classifier", "tiny", num_layers=1, backbone="encoder", compile=False)
    assert type(model.backbone).__name__ == "EncoderBackbone"
    with pytest.warns(DeprecationWarning, match="task"):
        assert type(build_llm(kind="causal", num_layers=1, compile=False)).__name__ == "CausalLM"
    with pytest.raises(ValueError, match="Unknown task 'gpt'"):
        build_llm("gpt")
