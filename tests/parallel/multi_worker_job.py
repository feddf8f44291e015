"""Subprocess job for test_multi_worker: one worker of a MultiWorkerMirroredStrategy cluster.

TF_CONFIG comes from the environment (set by the test). Trains a few steps of a tiny causal
LM on both workers, writes checkpoints through the chief-only run folder logic of the recipes,
saves its final weights to WEIGHTS_NPZ and prints one JSON line.

Run: TF_CONFIG=... python tests/parallel/multi_worker_job.py RUNS_DIR WEIGHTS_NPZ
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"


def main(runs_dir, weights_path):
    from zoo.train.strategy import for_this_worker, is_chief, strategy_from_args

    args = argparse.Namespace(strategy="multi_worker", runs_dir=runs_dir, batch_size=8)
    strategy = strategy_from_args(args, log=lambda *_: None)  # first thing: before any TensorFlow op

    import keras
    import numpy as np

    from zoo.llm import LLMConfig, build_llm
    from zoo.train.checkpoints import StepCheckpoint

    args = for_this_worker(args, strategy, log=lambda *_: None)
    config = LLMConfig(vocab_size=64, max_length=16, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
    ids = np.random.default_rng(0).integers(7, 64, (16, 9)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build_llm("causal", config=config, compile=False)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="auto", metrics=[])
        checkpoint = StepCheckpoint(os.path.join(args.runs_dir, "checkpoints"), every=2, llm_config=config.get_config())
        history = model.fit(
            x, ids[:, 1:], batch_size=args.batch_size, epochs=2, shuffle=False, verbose=0, callbacks=[checkpoint]
        )
    np.savez(weights_path, *model.get_weights())
    print(
        json.dumps(
            {
                "chief": is_chief(strategy),
                "replicas": strategy.num_replicas_in_sync,
                "runs_dir": args.runs_dir,
                "loss": history.history["loss"],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
