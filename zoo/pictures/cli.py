"""`zoo pictures`: draw the pictures of the docs (docs/images/*.png) from zoo's own code.

Example:
    zoo pictures                          # every picture into docs/images/
    zoo pictures --only attention_kinds --out /tmp/pictures
    zoo pictures --only data_funnel --report data/corpus-builtin/report.json
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from zoo.pictures import PICTURES

JAPANESE_PAGES = Path(__file__).resolve().parents[1] / "data" / "eval" / "ja_manpages.jsonl.gz"


def draw_attention_kinds(out, args):
    from zoo.pictures.attention import draw_attention_kinds as draw

    draw(out)


def draw_gpipe_timeline(out, args):
    from zoo.pictures.pipeline import draw_gpipe_timeline as draw

    draw(out, stages=4, micro_batches=8)


def draw_tokenizer_splits(out, args):
    from zoo.pictures.tokenizers import draw_token_splits, split_sentences

    draw_token_splits(split_sentences(vocab_size=args.vocab_size), out)


def draw_data_funnel(out, args):
    from zoo.pictures.funnel import draw_funnel

    if args.report:
        draw_funnel(args.report, out)
        return
    from zoo.data.prepare import PrepareConfig, prepare_corpus

    # The real pipeline on real Japanese HTML (the man pages zoo ships), into a throw-away folder.
    with tempfile.TemporaryDirectory() as folder:
        config = PrepareConfig(name="ja-manpages", output=folder, text_field="html", vocab_size=2000)
        result = prepare_corpus([str(JAPANESE_PAGES)], config=config, progress=False, log=lambda *_: None)
        draw_funnel(result["report_data"], out)


def draw_transformer_block(out, args):
    from zoo.llm.models.presets import get_preset
    from zoo.pictures.block_diagram import draw_transformer_block as draw

    draw(get_preset(args.preset), out, title=f"{args.preset}: every box labelled with the LLMConfig field that sets it")


def draw_memory_breakdown(out, args):
    from zoo.llm.models.presets import get_preset
    from zoo.llm.sizing.explain import explain
    from zoo.pictures.memory import draw_explain

    config = get_preset(args.preset)
    draw_explain(explain(config, batch_size=8, seq_len=config.max_length), out, name=args.preset)


DRAW = {
    "attention_kinds": draw_attention_kinds,
    "gpipe_timeline": draw_gpipe_timeline,
    "tokenizer_splits": draw_tokenizer_splits,
    "data_funnel": draw_data_funnel,
    "transformer_block": draw_transformer_block,
    "memory_breakdown": draw_memory_breakdown,
}


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog or "zoo pictures",
        description="Draw the docs' pictures from zoo's own code: "
        + "; ".join(f"{name}.png: {what}" for name, what in PICTURES.items())
        + ".",
        epilog="examples:\n  zoo pictures\n  zoo pictures --only attention_kinds --out /tmp/pictures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="docs/images", help="folder for the PNG files (default: docs/images)")
    parser.add_argument(
        "--only", action="append", choices=tuple(PICTURES), help="draw only this picture (repeatable; default: all)"
    )
    parser.add_argument("--report", help="data_funnel: draw this report.json instead of running the pipeline")
    parser.add_argument(
        "--preset", default="gpt2_small", help="transformer_block, memory_breakdown (default: gpt2_small)"
    )
    parser.add_argument(
        "--vocab-size", type=int, default=3000, help="tokenizer_splits: vocabulary size (default: 3000)"
    )
    return parser


def main(argv=None, prog=None):
    from zoo.llm.models.presets import PRESETS
    from zoo.quiet import quiet_tensorflow

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.preset not in PRESETS:
        parser.error(f"--preset {args.preset!r} is not a preset; choose one of: {', '.join(PRESETS)}")
    if args.report and not Path(args.report).is_file():
        parser.error(f"--report {args.report} is not a file; give the report.json that `zoo data prepare` wrote")
    quiet_tensorflow()
    out = Path(args.out)
    for name in args.only or PICTURES:
        started = time.perf_counter()
        path = out / f"{name}.png"
        DRAW[name](path, args)
        print(f"{path} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
