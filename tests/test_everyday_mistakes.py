"""No traceback for an everyday mistake: each one is one line on stderr and exit status 2 (1 for the machine's faults).

Every case goes through the `zoo` command in-process (zoo.cli.main), the way a person meets it.
"""

import errno
import json

import pytest

from zoo.cli import main


def _one_line_error(capsys, status, argv):
    """Run `zoo argv`; assert the exit status and that stderr is one line with no traceback; return that line."""
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse and the recipe runner exit by raising
        code = exit_info.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == status, err
    assert "Traceback" not in err
    if lines and lines[0].startswith("usage:"):  # argparse: its usage block, then the one error line
        lines = lines[-1:]
    assert len(lines) == 1, err
    return lines[0]


def _corpus(folder, tokenizer_files):
    from zoo.data.document import Document
    from zoo.data.shards import write_shards

    write_shards([Document(id="1", text="some text")], folder / "shards")
    (folder / "tokenizer").mkdir()
    for name, data in tokenizer_files.items():
        (folder / "tokenizer" / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """A zoo causal-LM run folder (model.keras + tokenizer/) made without training."""
    import keras

    from zoo.data.special_tokens import SPECIAL_TOKENS
    from zoo.data.tokenizer import ZooWordPieceTokenizer, save_tokenizer
    from zoo.llm import build_llm

    folder = tmp_path_factory.mktemp("lm-run")
    keras.utils.set_random_seed(0)
    model = build_llm("causal", "tiny", vocab_size=16, num_layers=1, hidden_dim=16, num_heads=2, max_length=16)
    model.save(folder / "model.keras")
    save_tokenizer(ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["a", "b"]), folder / "tokenizer")
    return folder


def test_unknown_preset(tmp_path, capsys):
    line = _one_line_error(capsys, 2, ["pretrain-clm", "--preset", "tinyy", "--data", str(tmp_path / "none")])
    assert "Unknown preset 'tinyy'" in line and "Did you mean 'tiny'" in line


def test_json_preset_in_pretrain_clm(tmp_path, capsys):
    from zoo.train.pretraining import TrainingOptions, model_config

    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"num_layers": 1, "hidden_dim": 16, "num_heads": 2, "intermediate_dim": 32}))
    assert model_config(TrainingOptions(preset=str(config), seq_len=16), 64).num_layers == 1  # accepted
    config.write_text('{"num_layers": 1,')
    line = _one_line_error(capsys, 2, ["pretrain-clm", "--preset", str(config), "--data", str(tmp_path / "none")])
    assert "cfg.json" in line and "not a JSON file" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["model-parallel", "--validation-fraction", "1.5"],
        ["pipeline-parallel", "--validation-fraction", "-0.1"],
        ["pretrain-clm", "--validation-fraction", "1"],
        ["compress", "prune", "--sparsity", "1.5"],
        ["finetune-sentiment", "--seq-len", "10000000"],
        ["explain", "tiny", "--task", "classifier", "--num-classes", "-5"],
    ],
)
def test_out_of_range_options(argv, capsys):
    line = _one_line_error(capsys, 2, argv)
    assert f"argument {argv[-2]}" in line


@pytest.mark.parametrize(
    "files, named",
    [
        ({"tokenizer.json": b"{not json", "vocab.txt": b"[PAD]\n"}, "tokenizer.json is damaged"),
        (
            {
                "tokenizer.json": json.dumps({"kind": "sentencepiece-unigram", "vocabulary_size": 9}).encode(),
                "sentencepiece.model": b"garbage" * 10,
            },
            "sentencepiece.model: damaged tokenizer",
        ),
    ],
)
def test_damaged_tokenizer_in_a_corpus_folder(tmp_path, capsys, files, named):
    folder = _corpus(tmp_path / "corpus", files)
    line = _one_line_error(capsys, 2, ["data", "stats", str(folder), "--quiet"])
    assert named in line


def test_csv_field_over_the_csv_limit(tmp_path, capsys):
    big = tmp_path / "big.csv"
    big.write_text("text,label\n" + '"' + "a" * 140_000 + '",pos\ngood,pos\nbad,neg\n', encoding="utf-8")
    argv = ["finetune-sentiment", "--train", str(big), "--eval", str(big), "--from-scratch", "--runs-dir", "runs"]
    line = _one_line_error(capsys, 2, argv)
    assert "big.csv line 2" in line and "131072" in line


def test_deeply_nested_json(tmp_path, capsys):
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    argv = ["finetune-qa", "--train", str(nested), "--eval", str(nested), "--from-scratch", "--runs-dir", "runs"]
    assert "nested too deeply" in _one_line_error(capsys, 2, argv)


def test_compress_ptq_from_a_zoo_lm_run(lm_run, tmp_path, capsys):
    line = _one_line_error(capsys, 2, ["compress", "ptq", "--from", str(lm_run), "--runs-dir", str(tmp_path)])
    assert str(lm_run) in line and "quantize-llm" in line


def test_truncated_keras_file(lm_run, tmp_path, capsys):
    data = (lm_run / "model.keras").read_bytes()
    truncated = tmp_path / "model.keras"
    truncated.write_bytes(data[: len(data) // 2])
    line = _one_line_error(capsys, 2, ["export", str(truncated), "--out", str(tmp_path / "saved")])
    assert "model.keras: damaged or truncated" in line and "not found" not in line.lower()


def test_export_version_beyond_int64(tmp_path, capsys):
    line = _one_line_error(capsys, 2, ["export", str(tmp_path), "--version", "99999999999999999999"])
    assert "--version must be a positive integer up to 9223372036854775807" in line


def test_rag_with_a_missing_run(tmp_path, capsys):
    line = _one_line_error(capsys, 2, ["rag", "--run", "/nonexistent", "--runs-dir", str(tmp_path)])
    assert "/nonexistent" in line


def test_damaged_faiss_index(tmp_path):
    import numpy as np

    from zoo.retrieval.vector_index import build_vector_index, index_file, load_vector_index

    index = build_vector_index(np.eye(8, dtype="float32"), kind="hnsw")
    index.save(tmp_path / index_file("hnsw"))
    (tmp_path / index_file("hnsw")).write_bytes(b"\x00garbage" * 64)
    with pytest.raises(ValueError, match=r"vectors.hnsw.faiss is damaged .*zoo retrieve build") as info:
        load_vector_index(tmp_path, "hnsw", "ip")
    assert "\n" not in str(info.value)  # `zoo retrieve` prints it as its one line


def test_read_only_output_folder_is_an_environment_fault(tmp_path, capsys, monkeypatch):
    import zoo.runs

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "runs"))

    monkeypatch.setattr(zoo.runs.RunFolder, "__init__", read_only)  # root ignores chmod: inject the fault
    text = tmp_path / "t.txt"
    text.write_text("hello world " * 50)
    argv = ["train-lstm", "--text", str(text), "--epochs", "1", "--max-windows", "8", "--runs-dir", "r"]
    line = _one_line_error(capsys, 1, argv)
    assert "read-only" in line.lower() and str(tmp_path / "runs") in line


def test_nul_bytes_are_not_text(tmp_path, capsys):
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"\x00" * 5000)
    line = _one_line_error(capsys, 2, ["train-lstm", "--text", str(nul), "--runs-dir", str(tmp_path)])
    assert "NUL bytes" in line
