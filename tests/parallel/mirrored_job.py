"""Subprocess job for test_data_parallel: needs a fresh process, because the CPU must be split
into 2 logical devices before TensorFlow starts its devices. Prints one JSON line.

Run: python tests/parallel/mirrored_job.py OUT_FOLDER
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"


def main(out):
    from zoo.train.strategy import make_strategy

    mirrored = make_strategy("mirrored", cpu_replicas=2, log=lambda *_: None)  # splits the CPU first
    one = make_strategy("one_device", log=lambda *_: None)

    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.llm import LLMConfig, build_llm
    from zoo.parallel.pipeline_parallel import GPipe, full_batch_gradients
    from zoo.train.checkpoints import StepCheckpoint, read_checkpoint, restore

    config = LLMConfig(vocab_size=64, max_length=16, num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32)
    ids = np.random.default_rng(0).integers(7, 64, (16, 9)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}
    y = ids[:, 1:]
    keras.utils.set_random_seed(0)
    initial = build_llm("causal", config=config, compile=False).get_weights()

    def trained(strategy, callbacks=()):
        with strategy.scope():
            model = build_llm("causal", config=config, compile=False)
            model.set_weights(initial)
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="auto", metrics=[])
            # Same global batch (8) on both strategies: Mirrored gives each replica 4.
            history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=list(callbacks))
        return model, history.history["loss"]

    single, single_losses = trained(one)
    ckpt = os.path.join(out, "checkpoints")
    double, double_losses = trained(mirrored, [StepCheckpoint(ckpt, every=4, llm_config=config.get_config())])

    # Resume the 2-replica checkpoint on 1 device (default strategy).
    resumed = build_llm("causal", config=config, compile=False)
    resumed.compile(optimizer=keras.optimizers.Adam(1e-2), loss="auto", metrics=[])
    step = restore(resumed, read_checkpoint(ckpt))
    same_after_restore = all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), double.get_weights()))
    # The Adam moments and step counter come back too, so training continues where it stopped.
    same_optimizer = [np.asarray(v).tolist() for v in resumed.optimizer.variables] == [
        np.asarray(v).tolist() for v in double.optimizer.variables
    ]
    resumed_loss = float(resumed.train_on_batch({k: v[:8] for k, v in x.items()}, y[:8]))

    # Pipeline stages on the two logical CPUs: the gradients must equal the unsplit model's.
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    pipe = GPipe(single, num_stages=2, micro_batches=2, devices=cpus[:2])
    pipe_loss, pipe_grads, _ = pipe.gradients({k: v[:8] for k, v in x.items()}, y[:8])
    ref_loss, ref_grads = full_batch_gradients(single, {k: v[:8] for k, v in x.items()}, y[:8])
    by_id = {id(v): g for v, g in zip(single.trainable_variables, ref_grads)}
    grad_diff = max(
        float(np.max(np.abs(np.asarray(g) - np.asarray(by_id[id(v)])))) for g, v in zip(pipe_grads, pipe.variables)
    )

    # Last (it touches the cluster setup): the real "no TPU here" path of a Cloud TPU VM's --tpu local.
    import time

    from zoo.train.strategy import StrategyError, tpu_strategy

    started, tpu_error = time.monotonic(), None
    try:
        tpu_strategy("local", timeout=20)
    except StrategyError as err:
        tpu_error = str(err)
    tpu_seconds = time.monotonic() - started

    print(
        json.dumps(
            {
                "replicas": [one.num_replicas_in_sync, mirrored.num_replicas_in_sync],
                "single_losses": single_losses,
                "mirrored_losses": double_losses,
                "checkpoint_step": step,
                "same_after_restore": same_after_restore,
                "same_optimizer_state": same_optimizer,
                "resumed_loss": resumed_loss,
                "pipeline_devices": pipe.devices,
                "stage_output_devices": [pipe.output_devices[0], pipe.output_devices[1]],
                "pipeline_loss": float(pipe_loss),
                "reference_loss": float(ref_loss),
                "pipeline_grad_diff": grad_diff,
                "tpu_error": tpu_error,
                "tpu_seconds": tpu_seconds,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
