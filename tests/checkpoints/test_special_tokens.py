"""Special ids come from the checkpoint's tokenizer: a GPT-2 vocabulary where id 0 is "!" and no pad token exists."""

import json

import numpy as np
import pytest

from tests.checkpoints import writers
from zoo import from_pretrained


@pytest.fixture(scope="module")
def gpt2_like(tmp_path_factory):
    """A byte-level BPE ordered like GPT-2's: bytes first ("!" = 0), <|endoftext|> last, no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("gpt2_like") / "hf"
    folder.mkdir()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        writers.TEXTS,
        trainers.BpeTrainer(vocab_size=380, special_tokens=[], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    tok.add_special_tokens(["<|endoftext|>"])
    vocab = tok.get_vocab()
    assert vocab["!"] == 0 and vocab["<|endoftext|>"] == len(vocab) - 1
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    tok.model.save(str(folder))  # merges.txt (its vocab.json is replaced below, with the special token)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    writers.write_hf_gpt2(folder, len(vocab))
    return folder, len(vocab) - 1


def test_ids_come_from_the_vocabulary(gpt2_like):
    from zoo.checkpoints.tokenizers import special_ids

    folder, eos = gpt2_like
    model = from_pretrained(folder)
    ids = special_ids(model.tokenizer)
    assert ids["eos"] == eos and ids["bos"] == eos
    assert ids["pad"] == eos  # no pad token: pad with end-of-text, never with "!" (id 0)
    assert ids["mask"] is None and ids["cls"] is None


def test_text_generation_with_exclamation_marks(gpt2_like):
    folder, eos = gpt2_like
    model = from_pretrained(folder)
    prompt = "Hello world!"
    ids = [int(t) for t in model.tokenizer.tokenize(prompt)]
    assert 0 in ids  # "!" is a real token here
    text = model.generate(prompt, max_length=len(ids) + 6)
    assert text.startswith(prompt)
    new = model.generate(ids, max_new_tokens=6, stop_token_ids=[eos], pad_token_id=eos)
    assert text == str(model.tokenizer.detokenize(np.asarray(ids + new, "int32")))


def test_classification_frames_with_end_of_text(gpt2_like):
    from zoo.finetune.features import encode_classification

    folder, eos = gpt2_like
    model = from_pretrained(folder, kind="classifier")
    x, _, _ = encode_classification([{"texts": ("Hello world!",), "label": 1}], model.tokenizer, 12)
    row = x["token_ids"][0].tolist()
    n = int(x["padding_mask"][0].sum())
    assert row[0] == eos and row[n - 1] == eos and all(t == eos for t in row[n:]) and 0 in row[:n]


def test_saved_model_pads_with_the_tokenizer_pad_id(gpt2_like, tmp_path):
    import tensorflow as tf

    from zoo.checkpoints.run_folder import import_checkpoint
    from zoo.export.saved_model import export_saved_model

    folder, eos = gpt2_like
    run = import_checkpoint(folder, out=tmp_path / "run")
    result = export_saved_model(str(run), output=str(tmp_path / "saved_models"), name="gpt2like")
    manifest = json.loads(
        (tmp_path / "saved_models" / "gpt2like" / "1" / "assets.extra" / "zoo_export.json").read_text()
    )
    assert all(d == 0 for d in result.max_abs_diff["generate"].values())
    assert manifest["stop_token_id"] == eos and "vocab.json" in manifest["assets"]
    model = from_pretrained(folder)
    prompts = [[40, 0, 41, 0], [42, 0, eos, eos]]  # "!" inside prompts; the second row right-padded with pad = eos
    out = tf.saved_model.load(result.path).signatures["generate"](
        prompt_ids=tf.constant(prompts, tf.int32),
        max_new_tokens=tf.constant([4, 4]),
        temperature=tf.constant([0.0, 0.0]),
    )
    expected = model.generate([[40, 0, 41, 0], [42, 0]], max_new_tokens=4, stop_token_ids=[eos], use_cache=False)
    got = out["generated_ids"].numpy().tolist()
    counts = out["num_generated"].numpy().tolist()
    assert [row[:c] for row, c in zip(got, counts)] == expected
