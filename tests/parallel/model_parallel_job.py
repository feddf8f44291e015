"""Subprocess job for test_model_parallel: KERAS_BACKEND=jax with 4 virtual CPU devices (set by the test).

Trains the same tiny LLM (same initial weights, same batches, SGD) unsharded, with ModelParallel on a
2x2 mesh and with DataParallel over 4 devices; prints the losses and how the weights are laid out.

Run: KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=4 python tests/parallel/model_parallel_job.py
"""

import json


def main():
    import keras
    import numpy as np

    from zoo.llm import LLMConfig, build_llm
    from zoo.parallel.model_parallel import build_distributed_llm, make_distribution, shard_shapes, weight_shardings

    config = LLMConfig(
        vocab_size=64, max_length=16, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32, position="rotary"
    )
    ids = np.random.default_rng(0).integers(7, 64, (16, 9)).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": np.ones_like(ids[:, :-1])}
    y = ids[:, 1:]
    keras.utils.set_random_seed(0)
    plain = build_llm("causal", config=config, compile=False)
    initial = plain.get_weights()

    def losses(model, distribution=None):
        def fit():
            model.compile(optimizer=keras.optimizers.SGD(0.5), loss="auto", metrics=[])
            return model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]

        if distribution is None:
            return fit()
        with distribution.scope():
            return fit()

    model_parallel = make_distribution("model", config, data_parallel=2, model_parallel=2)
    sharded = build_distributed_llm(config, model_parallel, weights=initial)
    data_parallel = make_distribution("data", config)
    replicated = build_distributed_llm(config, data_parallel, weights=initial)
    result = {
        "backend": keras.backend.backend(),
        "devices": len(keras.distribution.list_devices()),
        "plain": losses(plain),
        "model_parallel": losses(sharded, model_parallel),
        "data_parallel": losses(replicated, data_parallel),
        "shardings": {k: list(v) for k, v in weight_shardings(sharded).items()},
        "qkv_shards": shard_shapes(sharded, "block_0/self_attention/qkv/kernel"),
        "ffn_out_shards": shard_shapes(sharded, "block_0/ffn_out/kernel"),
    }
    errors = {}
    for name, bad in (("heads", (1, 4)), ("devices", (1, 2))):
        try:  # 4 does not divide 2 heads; a 1x2 mesh does not use the 4 devices
            make_distribution("model", config, *bad)
        except ValueError as err:
            errors[name] = str(err)
    result["errors"] = errors
    print(json.dumps(result))


if __name__ == "__main__":
    main()
