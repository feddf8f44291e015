"""The pictures are computed from zoo's own code: check what they show against closed forms and the layers' masks."""

import numpy as np
import pytest

from zoo.pictures.attention import attention_pattern, lsh_buckets

PNG = b"\x89PNG"


def _png(path):
    return open(path, "rb").read(4) == PNG


def _layer_mask(kind, options, n):
    import keras

    from zoo.llm.attention import get_attention_class
    from zoo.llm.attention.options import options_for

    layer = get_attention_class(kind)(1, n, causal=True, **options_for(kind, options).layer_arguments(n))
    positions = keras.ops.arange(n, dtype="int32")
    return keras.ops.convert_to_numpy(layer.attention_mask(positions, positions)).astype("int64")


@pytest.mark.parametrize(
    "kind, options",
    [
        ("sliding_window", {"window": 5, "global_tokens": 2, "block_size": 4}),
        ("block_sparse", {"block_size": 4, "local_blocks": 1, "global_blocks": 1, "block_stride": 2}),
    ],
)
def test_probed_pattern_equals_the_layers_own_mask(kind, options):
    # The probe runs the blocked computation; the mask is the layer's dense rule for cached decoding.
    np.testing.assert_array_equal(attention_pattern(kind, options, seq_len=16), _layer_mask(kind, options, 16))


def test_full_and_axial_patterns_match_their_closed_forms():
    n, cols = 16, 4
    np.testing.assert_array_equal(attention_pattern("full", seq_len=n), np.tril(np.ones((n, n), "int64")))
    # Row then column pass: query (r, c) reaches every key (r', c') with r' <= r and c' <= c.
    r, c = np.divmod(np.arange(n), cols)
    expected = (r[None, :] <= r[:, None]) & (c[None, :] <= c[:, None])
    np.testing.assert_array_equal(attention_pattern("axial", {"row_length": cols}, seq_len=n), expected)


def test_lsh_attends_only_within_the_querys_bucket_and_never_ahead():
    options = {"chunk_size": 4, "num_buckets": 4, "num_hashes": 1}
    pattern = attention_pattern("lsh", options, seq_len=16)
    buckets = lsh_buckets(options, seq_len=16)
    queries, keys = np.nonzero(pattern)
    assert len(queries) >= 16  # every query sees at least one key
    assert np.all(buckets[queries] == buckets[keys]) and np.all(keys <= queries)
    assert len(set(buckets.tolist())) > 1  # the hash spreads positions over buckets


def test_gpipe_timeline_respects_the_schedule(tmp_path):
    from zoo.parallel.pipeline_parallel import bubble_fraction
    from zoo.pictures.pipeline import draw_gpipe_timeline, textbook_durations

    stages, micro = 3, 4
    result = draw_gpipe_timeline(
        tmp_path / "gpipe.png", stages, micro, durations=textbook_durations(stages, micro, 1, 1)
    )
    assert _png(tmp_path / "gpipe.png")
    assert result["bubble"] == pytest.approx(bubble_fraction(stages, micro))
    timeline = result["timeline"]
    for s in range(1, stages):
        for j in range(micro):
            assert timeline[("F", s, j)][0] >= timeline[("F", s - 1, j)][1]  # input from the stage before
    for s in range(stages):  # one device per stage: its items never overlap
        spans = sorted(span for (kind, stage, _), span in timeline.items() if stage == s)
        assert all(a[1] <= b[0] + 1e-12 for a, b in zip(spans, spans[1:]))


def test_funnel_reads_the_report(tmp_path):
    import json

    from zoo.pictures.funnel import draw_funnel, funnel_rows, removal_reasons

    # The fields PipelineReport.add_stage writes (tests/data/test_report.py checks those).
    report = {
        "name": "t",
        "stages": [
            {"stage": "acquire", "docs_in": None, "docs_out": 5, "bytes_in": None, "bytes_out": 60, "reasons": {}},
            {
                "stage": "filter",
                "docs_in": 5,
                "docs_out": 3,
                "bytes_in": 60,
                "bytes_out": 39,
                "reasons": {"filter:too_short": 2},
            },
            {
                "stage": "dedup",
                "docs_in": 3,
                "docs_out": 2,
                "bytes_in": 39,
                "bytes_out": 27,
                "reasons": {"dedup:exact": 1, "filter:too_short": 1},
            },
        ],
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert funnel_rows(report) == [("acquire", 5, 60), ("filter", 3, 39), ("dedup", 2, 27)]
    assert removal_reasons(report) == {"filter:too_short": 3, "dedup:exact": 1}
    assert _png(draw_funnel(str(path), tmp_path / "funnel.png"))
    with pytest.raises(ValueError, match="no stages"):
        funnel_rows({"stages": []})


def test_tokenizer_pieces_rebuild_the_sentence(tmp_path):
    from zoo.pictures.tokenizers import draw_token_splits, split_sentences

    texts = ["the cat sat on the mat and the dog sat on the log"] * 30 + ["猫がいます。犬もいます。"] * 30
    sentences = ["the cat sat", "猫がいます。"]
    rows = split_sentences([("sentencepiece-bpe", None), ("byte-bpe", None)], sentences, texts, vocab_size=300)
    assert [(r["kind"], r["sentence"]) for r in rows] == [
        (k, s) for k in ("sentencepiece-bpe", "byte-bpe") for s in sentences
    ]
    for row in rows:
        text = "".join(row["pieces"])
        assert (text.replace("▁", " ").strip() if row["kind"].startswith("sentencepiece") else text) == row["sentence"]
    assert _png(draw_token_splits(rows, tmp_path / "tokens.png"))


def test_block_diagram_follows_the_norm_placement(tmp_path):
    from zoo.llm.config import LLMConfig
    from zoo.pictures.block_diagram import block_parts, draw_transformer_block

    pre = [name for name, _ in block_parts(LLMConfig(norm="pre"))]
    post = [name for name, _ in block_parts(LLMConfig(norm="post"))]
    assert pre[2:5] == ["|norm", "|attention", "|add"] and "final norm" in pre
    assert post[2:5] == ["|attention", "|add", "|norm"] and "final norm" not in post
    assert any("intermediate_dim=256" in detail for _, detail in block_parts(LLMConfig()))
    assert draw_transformer_block(LLMConfig(), tmp_path / "block.png")[0] == "token_ids"


def test_explain_out_draws_the_memory_chart(tmp_path, capsys):
    from zoo.llm.sizing.explain import main

    assert main(["tiny", "--out", str(tmp_path / "memory.png")]) == 0
    assert _png(tmp_path / "memory.png")
    assert main(["tiny", "--out", str(tmp_path / "no-such-folder" / "x" / "memory.png")]) == 0  # folders are made
    assert main(["tiny", "--out", "/proc/no/memory.png"]) == 2
    assert "cannot write --out" in capsys.readouterr().err


def test_zoo_pictures_draws_into_the_folder(tmp_path, capsys):
    from zoo.cli import main

    assert main(["pictures", "--only", "gpipe_timeline", "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["gpipe_timeline.png"]
    with pytest.raises(SystemExit) as exit_info:
        main(["pictures", "--report", str(tmp_path / "missing.json")])
    assert exit_info.value.code == 2
