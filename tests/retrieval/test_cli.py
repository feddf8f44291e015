"""`zoo retrieve`: build and query a store from a corpus folder; bad input exits 2 with one clear line."""

import json

from zoo.retrieval.cli import main


def test_build_then_query(tmp_path, corpus_folder, capsys):
    assert (
        main(["build", str(corpus_folder), "--out", str(tmp_path / "store"), "--window", "32", "--stride", "24"]) == 0
    )
    assert (tmp_path / "store" / "manifest.json").is_file()
    capsys.readouterr()
    assert main(["query", str(tmp_path / "store"), "capital of Veltria", "-k", "2", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and "Orsk" in lines[0]["text"] and lines[0]["rank"] == 0


def test_errors_exit_2_with_a_message(tmp_path, corpus_folder, capsys):
    assert main(["query", str(tmp_path / "missing"), "x"]) == 2
    assert "zoo retrieve build" in capsys.readouterr().err
    main(["build", str(corpus_folder), "--out", str(tmp_path / "s")])
    capsys.readouterr()
    assert main(["query", str(tmp_path / "s"), "loop", "-k", "500"]) == 2
    assert "larger than the store" in capsys.readouterr().err
    assert main(["query", str(tmp_path / "s"), "loop", "--method", "dense"]) == 2
    assert "needs a dense index" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("  ", encoding="utf-8")
    assert (
        main(
            [
                "build",
                str(tmp_path / "empty"),
                "--out",
                str(tmp_path / "e"),
                "--tokenizer",
                str(corpus_folder / "tokenizer"),
            ]
        )
        == 2
    )
    assert "empty" in capsys.readouterr().err
