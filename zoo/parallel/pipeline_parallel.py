"""Pipeline parallelism for the zoo causal LLM: stages on different devices and a GPipe schedule.

A teaching implementation. It shows the idea of GPipe (Huang et al., 2019) in
plain TensorFlow, one step at a time: the transformer's blocks are cut into p
consecutive *stages*, each placed on its own device (`tf.device`); a batch is
cut into m *micro-batches*; every micro-batch flows forward through stage 0,
1, ..., p-1, each stage keeping the activations it needs; then the gradients
flow back through stage p-1, ..., 0 (each stage gets d loss / d its output from
the next stage and returns d loss / d its input); the weight gradients of all
micro-batches are accumulated and applied in one optimizer update, so the
update equals that of the whole batch.

On real hardware the stages run at the same time: while stage 1 works on
micro-batch 1, stage 0 already works on micro-batch 2. The schedule has a
start-up and drain phase in which some stages wait; this idle share, the
*bubble*, is (p-1)/(m+p-1) for equal stages, so more micro-batches shrink it.
Here the stages run one after the other in one Python process (eager
TensorFlow), so this module *measures* how long each stage's forward and
backward take and *simulates* the GPipe clock with those durations
(`simulate_gpipe`) to get the bubble; it does not overlap the work itself.

For real multi-device or multi-machine training use data parallelism
(`--strategy mirrored`, `multi_worker`, or `tpu`; see docs/distributed.md) or
model parallelism (`zoo.parallel.model_parallel`); production pipeline engines
(e.g. GPipe in Lingvo, DeepSpeed, Megatron-LM, PiPPy) add interleaved 1F1B
schedules and overlap communication.

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=2, compile=False)
    >>> from zoo.llm.models.batches import causal_lm_batch
    >>> import numpy as np
    >>> pipeline = GPipe(model, num_stages=2, micro_batches=4)
    >>> x, y, _ = causal_lm_batch(np.random.default_rng(0).integers(1, 100, (8, 9)))
    >>> loss, grads, timings = pipeline.gradients(x, y)
    >>> len(grads) == len(pipeline.variables)
    True
    >>> round(bubble_fraction(2, 4), 3)
    0.2
"""

import time


def bubble_fraction(stages, micro_batches):
    """GPipe's idle share for equal stages: (p - 1) / (m + p - 1).

    Example:
        >>> bubble_fraction(4, 8)
        0.2727272727272727
    """
    _check_counts(stages, micro_batches)
    return (stages - 1) / (micro_batches + stages - 1)


def _check_counts(stages, micro_batches):
    for name, value in (("stages", stages), ("micro_batches", micro_batches)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def gpipe_order(stages, micro_batches):
    """The GPipe work items in dependency order: all forwards (micro-batch-major), then all backwards.

    Each item is (kind, stage, micro_batch), kind "F" or "B".

    Example:
        >>> gpipe_order(2, 2)
        [('F', 0, 0), ('F', 1, 0), ('F', 0, 1), ('F', 1, 1), ('B', 1, 1), ('B', 0, 1), ('B', 1, 0), ('B', 0, 0)]
    """
    _check_counts(stages, micro_batches)
    forward = [("F", s, j) for j in range(micro_batches) for s in range(stages)]
    backward = [("B", s, j) for j in reversed(range(micro_batches)) for s in reversed(range(stages))]
    return forward + backward


def simulate_gpipe(durations, stages, micro_batches):
    """Simulate the GPipe clock: each stage is one device doing its items in GPipe order.

    `durations[(kind, stage, micro_batch)]` is the seconds of that item (e.g. measured);
    an item starts when its device is free and its input is ready (forward: the previous
    stage's forward of the same micro-batch; backward: the next stage's backward, or for
    the last stage, its own forward). Returns {"makespan", "busy", "bubble", "timeline"} where
    bubble is the idle share of all devices over the makespan and timeline maps each item to
    its (start, end) on that clock (zoo.pictures.pipeline draws it).

    Example:
        >>> equal = {item: 1.0 for item in gpipe_order(4, 8)}
        >>> round(simulate_gpipe(equal, 4, 8)["bubble"], 4) == round(bubble_fraction(4, 8), 4)
        True
    """
    done, started = {}, {}
    free = [0.0] * stages
    order = gpipe_order(stages, micro_batches)
    # Per device, forwards in micro-batch order, then backwards in reverse micro-batch order (GPipe).
    for kind, s, j in order:
        if kind == "F":
            ready = done[("F", s - 1, j)] if s > 0 else 0.0
        else:
            ready = done[("B", s + 1, j)] if s < stages - 1 else done[("F", s, j)]
        start = max(free[s], ready)
        started[(kind, s, j)] = start
        done[(kind, s, j)] = start + durations[(kind, s, j)]
        free[s] = done[(kind, s, j)]
    makespan = max(done.values())
    busy = sum(durations[item] for item in order)
    timeline = {item: (started[item], done[item]) for item in order}
    return {"makespan": makespan, "busy": busy, "bubble": 1.0 - busy / (stages * makespan), "timeline": timeline}


def split_blocks(num_layers, num_stages):
    """Consecutive block indices per stage, as even as possible (earlier stages get the extra block).

    Example:
        >>> split_blocks(5, 2)
        [[0, 1, 2], [3, 4]]
    """
    _check_counts(num_stages, 1)
    if num_stages > num_layers:
        raise ValueError(
            f"Cannot cut {num_layers} transformer blocks into {num_stages} pipeline stages; "
            f"use at most {num_layers} stages or a model with more layers."
        )
    size, extra = divmod(num_layers, num_stages)
    out, start = [], 0
    for s in range(num_stages):
        end = start + size + (1 if s < extra else 0)
        out.append(list(range(start, end)))
        start = end
    return out


class GPipe:
    """A zoo causal LM cut into `num_stages` stages on `devices`, trained with GPipe micro-batching.

    Stage 0 holds the embeddings and the first blocks; the last stage holds the last
    blocks, the final norm and the (tied) output projection. A weight used by two stages
    (the tied embedding) gets the sum of both stages' gradients, as in GPipe.
    """

    def __init__(self, model, num_stages=2, micro_batches=4, devices=None):
        import tensorflow as tf

        _check_counts(num_stages, micro_batches)
        backbone = getattr(model, "backbone", None)
        if backbone is None or not hasattr(backbone, "blocks") or not hasattr(backbone.embeddings, "logits"):
            raise ValueError(f"GPipe needs a zoo causal LM (build_llm('causal', ...)), got {type(model).__name__}.")
        self.model = model
        self.backbone = backbone
        self.num_stages = num_stages
        self.micro_batches = micro_batches
        self.stage_blocks = split_blocks(len(backbone.blocks), num_stages)
        if devices is None:
            devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
                d.name for d in tf.config.list_logical_devices("CPU")
            ]
        # Fewer devices than stages: stages share devices round-robin (still a correct schedule).
        self.devices = [devices[s % len(devices)] for s in range(num_stages)]
        self.stage_variables = [self._variables_of(s) for s in range(num_stages)]
        seen, self.variables = set(), []
        for variables in self.stage_variables:
            for v in variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    self.variables.append(v)
        self.loss_fn = None
        self.output_devices = {}  # stage -> device its last output was computed on (for checks)

    def _layers_of(self, stage):
        layers = [self.backbone.blocks[i] for i in self.stage_blocks[stage]]
        if stage == 0:
            layers = [self.backbone.embeddings] + layers
        if stage == self.num_stages - 1:
            layers = layers + ([self.backbone.final_norm] if self.backbone.final_norm is not None else [])
            if self.backbone.embeddings not in layers:
                layers.append(self.backbone.embeddings)  # its table is the tied output projection
        return layers

    def _variables_of(self, stage):
        out, seen = [], set()
        for layer in self._layers_of(stage):
            for v in layer.trainable_weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    def stage_forward(self, stage, x, padding_mask, training=True):
        """One stage's forward: token ids (stage 0) or hidden states in, hidden states or logits out."""
        backbone = self.backbone
        if stage == 0:
            x = backbone.embeddings(x, training=training)
        for i in self.stage_blocks[stage]:
            x = backbone.blocks[i](x, padding_mask=padding_mask, training=training)
        if stage == self.num_stages - 1:
            if backbone.final_norm is not None:
                x = backbone.final_norm(x)
            x = backbone.embeddings.logits(x)
        return x

    def _loss(self, labels, logits):
        import keras

        if self.loss_fn is None:
            self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return self.loss_fn(labels, logits)

    def gradients(self, x, y, training=True):
        """Mean loss and gradients (aligned with `self.variables`) of batch (x, y) by the GPipe schedule.

        Also returns the measured seconds of every work item {(kind, stage, micro_batch): s}.
        """
        import tensorflow as tf

        token_ids, padding_mask = x["token_ids"], x.get("padding_mask")
        batch = int(token_ids.shape[0])
        if batch % self.micro_batches:
            raise ValueError(
                f"The batch of {batch} does not split into {self.micro_batches} equal micro-batches; "
                f"use a batch that is a multiple of {self.micro_batches}."
            )
        size = batch // self.micro_batches
        p, m = self.num_stages, self.micro_batches
        timings, tapes, inputs, outputs, losses = {}, {}, {}, {}, []
        masks = [None if padding_mask is None else padding_mask[j * size : (j + 1) * size] for j in range(m)]

        # Forward: micro-batch j through stage 0..p-1; each stage keeps its tape (its activations).
        for j in range(m):
            h = token_ids[j * size : (j + 1) * size]
            for s in range(p):
                started = time.perf_counter()
                with tf.device(self.devices[s]):
                    # The boundary tensor is this stage's input: copy it here, as a send between devices would.
                    h = tf.identity(h)
                    with tf.GradientTape() as tape:
                        if s > 0:
                            tape.watch(h)
                        out = self.stage_forward(s, h, masks[j], training=training)
                        if s == p - 1:
                            out = self._loss(y[j * size : (j + 1) * size], out)
                timings[("F", s, j)] = time.perf_counter() - started
                self.output_devices[s] = out.device
                tapes[(s, j)], inputs[(s, j)], outputs[(s, j)] = tape, h, out
                h = out
            losses.append(out)

        # Backward: last micro-batch first, stage p-1 down to 0; accumulate weight gradients.
        totals = {id(v): None for v in self.variables}
        for j in reversed(range(m)):
            upstream = tf.constant(1.0 / m)  # d(mean over micro-batches) / d(micro-batch loss)
            for s in reversed(range(p)):
                started = time.perf_counter()
                with tf.device(self.devices[s]):
                    sources = list(self.stage_variables[s]) + ([inputs[(s, j)]] if s > 0 else [])
                    grads = tapes[(s, j)].gradient(outputs[(s, j)], sources, output_gradients=upstream)
                    for v, g in zip(self.stage_variables[s], grads):
                        if g is None:
                            continue
                        g = tf.convert_to_tensor(g)
                        totals[id(v)] = g if totals[id(v)] is None else totals[id(v)] + g
                    upstream = grads[-1] if s > 0 else None
                timings[("B", s, j)] = time.perf_counter() - started
                del tapes[(s, j)]
        loss = tf.add_n(losses) / m
        return loss, [totals[id(v)] for v in self.variables], timings

    def train_step(self, x, y, optimizer):
        """One optimizer update from the accumulated micro-batch gradients; returns (loss, timings)."""
        loss, grads, timings = self.gradients(x, y)
        pairs = [(g, v) for g, v in zip(grads, self.variables) if g is not None]
        optimizer.apply_gradients(pairs)
        return float(loss), timings

    def bubble(self, timings):
        """Simulated bubble of the GPipe clock with `timings` (measured), and the equal-stage formula."""
        simulated = simulate_gpipe(timings, self.num_stages, self.micro_batches)
        return {**simulated, "formula": bubble_fraction(self.num_stages, self.micro_batches)}


def full_batch_gradients(model, x, y):
    """Loss and gradients of the unsplit model (the reference a pipeline must equal)."""
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    return loss, tape.gradient(loss, model.trainable_variables)
