"""The options of a fine-tuning run (finetune-qa, finetune-nli, finetune-sentiment) and their command line.

Example:
    >>> import argparse
    >>> parser = add_finetune_args(argparse.ArgumentParser(), task="sentiment", seq_len=64, epochs=8,
    ...                            learning_rate=1e-3)
    >>> options = FinetuneOptions.from_args(parser.parse_args(["--language", "ja"]))
    >>> options.language, options.seq_len
    ('ja', 64)
"""

import dataclasses

from zoo.errors import UsageError
from zoo.finetune.datasets import LANGUAGES
from zoo.options import positive_int, sequence_length


@dataclasses.dataclass
class FinetuneOptions:
    """Where to start, which data, how long and how fast; the defaults are those of finetune-sentiment."""

    pretrained: str | None = None
    tokenizer: str | None = None
    from_scratch: bool = False
    pretrain_steps: int = 300
    preset: str = "tiny"
    vocab_size: int = 1000
    language: str = "en"
    train: str | None = None
    eval: str | None = None
    labels: str | None = None  # comma-separated names in index order (classification only)
    seq_len: int = 64
    epochs: int = 8
    steps: int | None = None
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    dropout: float = 0.1
    seed: int = 0
    verbose: int = 1

    @classmethod
    def from_args(cls, args):
        """The options of a parsed command line (fields it does not have keep their defaults)."""
        given = vars(args)
        return cls(**{f.name: given[f.name] for f in dataclasses.fields(cls) if f.name in given})

    def check(self):
        """Raise UsageError for options that cannot work."""
        for name in ("epochs", "batch_size", "seq_len"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}.")
        if self.steps is not None and self.steps < 1:
            raise UsageError(f"--steps must be at least 1, got {self.steps}.")
        if self.learning_rate <= 0:
            raise UsageError(f"--learning-rate must be > 0, got {self.learning_rate}.")
        if not 0 <= self.warmup_fraction < 1:
            raise UsageError(f"--warmup-fraction must be in [0, 1), got {self.warmup_fraction}.")
        if self.pretrained and self.from_scratch:
            raise UsageError("--pretrained and --from-scratch exclude each other: pick one start.")
        if self.tokenizer and not self.pretrained:
            raise UsageError("--tokenizer goes with --pretrained (the built-in start trains its own).")


def add_finetune_args(parser, task, seq_len, epochs, learning_rate, batch_size=16, labels=None):
    """Put the fields of FinetuneOptions on a command line, with the task's defaults."""
    start = parser.add_argument_group("where to start")
    start.add_argument(
        "--pretrained",
        "--from",
        dest="pretrained",
        default=None,
        help="a pretrain-mlm / pretrain-clm run folder or a .keras file (default: a quick built-in "
        "masked-LM pretraining first)",
    )
    start.add_argument(
        "--tokenizer", default=None, help="tokenizer folder of --pretrained (default: tokenizer/ next to the model)"
    )
    start.add_argument(
        "--from-scratch",
        action="store_true",
        help="no pretraining at all: random weights (the baseline that shows what pretraining adds)",
    )
    start.add_argument(
        "--pretrain-steps",
        type=positive_int,
        default=300,
        help="steps of the quick built-in masked-LM pretraining (default: 300)",
    )
    start.add_argument(
        "--preset",
        default="tiny",
        help="model preset (or an LLMConfig .json file) of the built-in start (default: tiny)",
    )
    start.add_argument(
        "--vocab-size", type=positive_int, default=1000, help="tokenizer size of the built-in start (default: 1000)"
    )

    data = parser.add_argument_group("data")
    data.add_argument(
        "--language",
        choices=LANGUAGES,
        default="en",
        help="which shipped labelled set to use when --train/--eval are not given (default: en)",
    )
    data.add_argument("--train", default=None, help="your training file (default: the shipped set)")
    data.add_argument("--eval", default=None, help="your evaluation file (default: the shipped dev set)")
    if labels is not None:
        data.add_argument(
            "--labels",
            default=",".join(labels),
            help=f"comma-separated label names, in index order (default: {','.join(labels)})",
        )
    data.add_argument(
        "--seq-len", type=sequence_length, default=seq_len, help=f"tokens per example (default: {seq_len})"
    )

    length = parser.add_argument_group("length and optimizer")
    length.add_argument("--epochs", type=int, default=epochs, help=f"passes over the training set (default: {epochs})")
    length.add_argument(
        "--steps",
        type=int,
        default=None,
        help="train about this many steps instead of --epochs (rounded up to whole epochs)",
    )
    length.add_argument("--batch-size", type=int, default=batch_size, help=f"examples per step (default: {batch_size})")
    length.add_argument(
        "--learning-rate", type=float, default=learning_rate, help=f"peak learning rate (default: {learning_rate})"
    )
    length.add_argument(
        "--warmup-fraction", type=float, default=0.1, help="share of the steps spent warming up (default: 0.1)"
    )
    length.add_argument("--weight-decay", type=float, default=0.01, help="AdamW decay on 2-D weights (default: 0.01)")
    length.add_argument("--dropout", type=float, default=0.1, help="dropout of the built-in start (default: 0.1)")
    return parser
