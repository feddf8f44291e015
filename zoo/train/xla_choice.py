"""Whether to train with XLA (`jit_compile`): measured on the device at hand, or forced.

Keras' own "auto" turns XLA on wherever an accelerator is attached and off on a
CPU-only TensorFlow machine. On a CPU the better choice depends on the model and
the batch: XLA fuses the small elementwise ops of a transformer block (a win at
short sequences) but its CPU matmuls and softmax can be slower than oneDNN's at
longer ones (benchmarks/llm_train_throughput.py measured both directions for the
small preset). So on a CPU-only TensorFlow machine "auto" times one forward and
backward pass of the actual model on a batch of the actual shape, with and without
XLA, and keeps the faster; the weights are not touched. Compiling both costs
seconds to a minute, which only a long run pays back: shorter runs (fewer than
`MIN_PROBE_STEPS` steps) and every other backend or device keep Keras' "auto".

Example:
    >>> from zoo.llm import build_llm
    >>> model = build_llm("causal", "tiny", num_layers=1, compile=False)
    >>> choose_jit_compile(model, batch_size=2, seq_len=8, setting="off")
    False
"""

import statistics
import time

import keras
import numpy as np

SETTINGS = ("auto", "on", "off")
# Below this many training steps "auto" does not probe: two compilations would cost more than XLA saves.
MIN_PROBE_STEPS = 100


def choose_jit_compile(model, batch_size, seq_len, setting="auto", steps=None, repeats=3, report=print):
    """The `jit_compile` for `model.compile`: True, False, or "auto" (Keras decides).

    setting: "on" / "off" force XLA on or off; "auto" measures on a CPU-only
    TensorFlow machine (see the module docstring) and otherwise leaves it to Keras.
    steps: the run's training steps; "auto" does not measure for fewer than MIN_PROBE_STEPS.
    """
    if setting not in SETTINGS:
        raise ValueError(f"jit_compile setting must be one of {', '.join(SETTINGS)}, got {setting!r}.")
    if setting != "auto":
        return setting == "on"
    if keras.backend.backend() != "tensorflow":
        return "auto"
    import tensorflow as tf

    if any(d.device_type != "CPU" for d in tf.config.list_physical_devices()) or tf.distribute.has_strategy():
        return "auto"  # accelerators: Keras turns XLA on; a strategy: Keras turns it off
    if steps is not None and steps < MIN_PROBE_STEPS:
        return "auto"
    times = measure_step_ms(model, batch_size, seq_len, repeats)
    choice = times[True] < times[False]
    report(
        f"jit_compile auto: forward+backward {times[True]:.0f} ms with XLA, {times[False]:.0f} ms without "
        f"-> XLA {'on' if choice else 'off'} (force with --jit-compile on|off)"
    )
    return choice


def sample_batch(model, batch_size, seq_len, seed=0):
    """Inputs of the model's own structure: random token ids, full padding masks, zeros elsewhere."""
    rng = np.random.default_rng(seed)
    vocab = getattr(getattr(model, "llm_config", None), "vocab_size", 2)
    inputs = {}
    for name in model.input:
        if name.endswith("token_ids"):
            inputs[name] = rng.integers(1, vocab, size=(batch_size, seq_len)).astype("int32")
        elif name.endswith("padding_mask"):
            inputs[name] = np.ones((batch_size, seq_len), "int32")
        else:
            inputs[name] = np.zeros((batch_size, seq_len), "int32")
    return inputs


def measure_step_ms(model, batch_size, seq_len, repeats=3):
    """{jit_compile: median ms} of one forward and backward pass (no weight update), after a warm-up."""
    import tensorflow as tf

    inputs = {k: tf.constant(v) for k, v in sample_batch(model, batch_size, seq_len).items()}
    weights = model.trainable_variables

    def loss_and_grads(batch):
        with tf.GradientTape() as tape:
            outputs = tf.nest.flatten(model(batch, training=True))
            loss = tf.add_n([tf.reduce_mean(tf.square(tf.cast(o, tf.float32))) for o in outputs])
        return loss, tape.gradient(loss, weights)

    times = {}
    for jit in (True, False):
        step = tf.function(loss_and_grads, jit_compile=jit)
        step(inputs)[0].numpy()  # trace and compile
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            step(inputs)[0].numpy()
            samples.append((time.perf_counter() - start) * 1000)
        times[jit] = statistics.median(samples)
    return times
