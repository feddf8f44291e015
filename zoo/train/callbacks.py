"""Callbacks that show what training is doing: samples, throughput, learning rate, perplexity.

- `TrainingLog` adds `learning_rate`, `tokens_per_second` and `perplexity` /
  `val_perplexity` (exp of the mean LM cross-entropy) to each epoch's logs, so the
  CSV history, TensorBoard and the plots all get them. Put it before the
  CSVLogger in the callback list.
- `SampleGenerations` decodes a few prompts every epoch and prints and appends
  them to a text file (and, given the run's summaries, to TensorBoard's Text tab at
  the global step), so you can watch the model go from noise to words.
- `StopOnDivergence` stops training at the first step whose loss is NaN or
  infinite, raising `zoo.errors.TrainingDiverged` with the step and a hint, so a
  diverged run never goes on to save its model or results. Every run folder's
  callbacks (`zoo.runs.RunFolder.callbacks`) start with it.

Example:
    >>> import keras
    >>> log = TrainingLog(tokens_per_step=16 * 64)
    >>> isinstance(log, keras.callbacks.Callback)
    True
"""

import math
import time

import keras
import numpy as np

from zoo.errors import TrainingDiverged

DIVERGENCE_HINT = "lower the learning rate (or clip gradients) and run again"


class StopOnDivergence(keras.callbacks.Callback):
    """Raise TrainingDiverged at the first training step whose loss (any `*loss` log) is not finite.

    Keras' TerminateOnNaN only stops the fit: validation, the model file and results.json then
    follow as if training had finished. Raising ends the run before any of them is written.
    `checkpoint` (a zoo.train.checkpoints.StepCheckpoint) makes the message name the last finite one.

    Example:
        >>> guard = StopOnDivergence(start_step=10, hint="lower --learning-rate")
        >>> guard.on_train_batch_end(0, {"loss": 2.5})
        >>> guard.on_train_batch_end(1, {"loss": float("nan")})
        Traceback (most recent call last):
        ...
        zoo.errors.TrainingDiverged: Training diverged: loss became nan at step 12; nothing more was saved. To fix: lower --learning-rate.
    """

    def __init__(self, start_step=0, hint=DIVERGENCE_HINT, checkpoint=None):
        super().__init__()
        self.step = int(start_step)
        self.hint = hint
        self.checkpoint = checkpoint

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        for key, value in (logs or {}).items():
            if key.endswith("loss") and np.ndim(value) == 0 and not math.isfinite(float(value)):
                kept = ""
                if self.checkpoint is not None and self.checkpoint.saved_step is not None:
                    kept = (
                        f"; the last finite checkpoint is step {self.checkpoint.saved_step} in {self.checkpoint.folder}"
                    )
                raise TrainingDiverged(
                    f"Training diverged: {key} became {float(value)} at step {self.step}{kept}; nothing more was "
                    f"saved. To fix: {self.hint}."
                )


class TrainingLog(keras.callbacks.Callback):
    """Log learning rate, tokens/second and perplexity at the end of every epoch.

    Example:
        >>> TrainingLog(tokens_per_step=1024).tokens_per_step
        1024
    """

    def __init__(self, tokens_per_step):
        super().__init__()
        self.tokens_per_step = int(tokens_per_step)
        self._started = self._last_step_end = None
        self._steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()
        self._steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        self._last_step_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self._steps:
            return
        # Up to the last training step: validation and sample generation are not training throughput.
        seconds = max(self._last_step_end - self._started, 1e-9)
        logs["tokens_per_second"] = self._steps * self.tokens_per_step / seconds
        optimizer = self.model.optimizer
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        rate = inner.learning_rate
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))
        for prefix in ("", "val_"):
            # MLM+NSP sums two losses; perplexity is the language model's alone.
            key = f"{prefix}mlm_loss" if f"{prefix}mlm_loss" in logs else f"{prefix}loss"
            if key in logs:
                # Capped so that a diverged run logs a large number instead of inf.
                logs[f"{prefix}perplexity"] = math.exp(min(float(logs[key]), 50.0))


class SampleGenerations(keras.callbacks.Callback):
    """Generate text from `prompts` every `every` epochs; print it and append it to `path`.

    Example:
        >>> SampleGenerations(tokenizer=None, prompts=["def"], path="/tmp/samples.txt").every
        1
    """

    def __init__(
        self, tokenizer, prompts, path=None, max_new_tokens=24, every=1, print_fn=print, seed=0, summaries=None
    ):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be at least 1 epoch, got {every!r}.")
        self.tokenizer = tokenizer
        self.prompts = list(prompts)
        self.path = path
        self.max_new_tokens = int(max_new_tokens)
        self.every = int(every)
        self.print_fn = print_fn
        self.seed = seed
        self.summaries = summaries  # a zoo.train.tensorboard.RunSummaries, or None
        self.samples = []  # (epoch, prompt, text) for reports and tests

    def generate(self):
        """(prompt, continuation) pairs from the current weights (top-k sampling, fixed seed)."""
        from zoo.llm.models.generation import generate

        ids = [[int(t) for t in keras.ops.convert_to_numpy(self.tokenizer(p))] for p in self.prompts]
        new = generate(
            self.model,
            ids,
            max_new_tokens=self.max_new_tokens,
            sampler="top_k",
            top_k=10,
            seed=self.seed,
            stop_token_ids=[self.tokenizer.end_token_id],
        )
        # Prompt and continuation together: SentencePiece drops the leading space of a lone piece.
        return [(p, str(self.tokenizer.detokenize(i + n))) for p, i, n in zip(self.prompts, ids, new)]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every or self.max_new_tokens < 1:  # --sample-tokens 0: no samples
            return
        lines = [f"--- samples after epoch {epoch + 1} ---"]
        generated = self.generate()
        for prompt, text in generated:
            self.samples.append((epoch + 1, prompt, text))
            lines.append(f"{prompt!r} -> {text!r}")
        self.print_fn("\n".join(lines))
        if self.summaries is not None:
            # Markdown: one quoted block per prompt, so line breaks in the text survive.
            self.summaries.text("samples", "\n\n".join(f"**{p!r}**\n\n    {t!r}" for p, t in generated))
        if self.path:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
