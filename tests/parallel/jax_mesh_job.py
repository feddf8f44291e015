"""Subprocess job for test_jax_route: keras.distribution meshes on 8 virtual CPU devices (KERAS_BACKEND=jax).

1. Every architecture and attention kind on a 4 (batch) x 2 (model) mesh: which weights the LayoutMap
   shards, what each device holds, and the sharded forward pass against the same weights unsharded.
2. A checkpoint written on one mesh resumes on another: a step on 8 devices (data+model 4x2), one on
   4 (model 1x4), one on 1 device, against 3 uninterrupted steps on one device.
3. The pretrain-clm recipe itself with the arguments after DIR (the test adds
   --distribution data+model --mesh 4x2), in this process.

Prints one JSON line. Run:
    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=8 \
        python tests/parallel/jax_mesh_job.py DIR [pretrain-clm options]
"""

import json
import sys

BASE = dict(vocab_size=64, max_length=16, num_layers=1, hidden_dim=32, num_heads=4, intermediate_dim=64)
# (task, LLMConfig overrides): every architecture, position kind and attention kind of the zoo.
CASES = {
    "gpt2_learned": ("causal", {}),
    "llama_gqa": ("causal", dict(position="rotary", mlp="gated", norm_type="rmsnorm", num_key_value_heads=2)),
    "untied_sinusoidal": ("causal", dict(position="sinusoidal", tie_embeddings=False)),
    "sliding_window": ("causal", dict(attention="sliding_window")),
    "block_sparse": ("causal", dict(attention="block_sparse")),
    "axial": ("causal", dict(attention="axial")),
    "lsh": ("causal", dict(attention="lsh")),
    "bert_mlm": ("masked", dict(num_segments=2)),
    "seq2seq": ("seq2seq", {}),
    "classifier": ("classifier", {}),
    "qa": ("qa", {}),
}
# Forward passes compared sharded vs unsharded (each compiles twice; the rest check layouts only).
FORWARD = ("seq2seq",)


def inputs_for(model, rng, batch=8, length=16):
    """Random inputs of the right kind for every input of `model`."""
    out = {}
    for tensor in model.inputs:
        name = tensor.name
        if "mask" in name:
            out[name] = rng.integers(1, 2, (batch, length)).astype("int32")
        elif "segment" in name:
            out[name] = rng.integers(0, 2, (batch, length)).astype("int32")
        else:
            out[name] = rng.integers(7, 64, (batch, length)).astype("int32")
    return out


def layouts(keras, np):
    from zoo.llm import LLMConfig, build_llm
    from zoo.parallel.model_parallel import make_distribution, shard_shapes, weight_shardings

    rng = np.random.default_rng(0)
    out = {}
    for name, (task, extra) in CASES.items():
        config = LLMConfig(**{**BASE, **extra})
        keras.utils.set_random_seed(0)
        plain = build_llm(task, config=config, compile=False)
        distribution = make_distribution("data+model", config, 4, 2)
        with distribution.scope():
            sharded = build_llm(task, config=config, compile=False)
            sharded.set_weights(plain.get_weights())
        shardings = weight_shardings(sharded)
        case = {
            "sharded": {p: list(a) for p, a in shardings.items() if any(a)},
            "replicated_fallback": list(distribution.replicated),
            "attention_pieces": {
                p: shard_shapes(sharded, p)[0]
                for p in shardings
                if p.endswith("kernel") and "attention" in p and any(shardings[p])
            },
            "weights": len(shardings),
        }
        if name in FORWARD:
            x = inputs_for(plain, rng)
            want = plain.predict(x, batch_size=8, verbose=0)
            with distribution.scope():
                got = sharded.predict(x, batch_size=8, verbose=0)
            case["forward_max_diff"] = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
            case["forward_scale"] = float(np.max(np.abs(want)))
        out[name] = case
    return out


def resume_across_meshes(keras, np, folder):
    from zoo.llm import LLMConfig
    from zoo.parallel.model_parallel import make_distribution, weight_shardings
    from zoo.train.checkpoints import StepCheckpoint, read_checkpoint, restore
    from zoo.train.pretraining import TrainingOptions, build_model

    config = LLMConfig(**BASE)
    options = TrainingOptions(learning_rate=1e-2, warmup_steps=0, weight_decay=0.1)
    ids = np.random.default_rng(1).integers(7, 64, (3, 8, 17)).astype("int32")
    batches = [({"token_ids": b[:, :-1], "padding_mask": np.ones_like(b[:, :-1])}, b[:, 1:]) for b in ids]

    keras.utils.set_random_seed(0)
    reference = build_model(options, config, total_steps=3)
    initial = reference.get_weights()
    want = [float(reference.train_on_batch(x, y, return_dict=True)["loss"]) for x, y in batches]

    devices = keras.distribution.list_devices()
    meshes = [
        ("data+model", 4, 2, devices, 1),  # step 1 on 8 devices
        ("model", 1, 4, devices[:4], 1),  # step 2 on 4 devices
        (None, 1, 1, devices[:1], 1),  # step 3 on one device
    ]
    got, step, sharded_on = [], 0, []
    for kind, data, model_axis, mesh_devices, steps in meshes:
        distribution = make_distribution(kind, config, data, model_axis, devices=mesh_devices) if kind else None
        scope = distribution.scope() if distribution else _null()
        with scope:
            model = build_model(options, config, total_steps=3)
            if step == 0:
                model.set_weights(initial)
            else:
                restore(model, read_checkpoint(folder))
            sharded_on.append(sum(1 for axes in weight_shardings(model).values() if any(axes)))
            for x, y in batches[step : step + steps]:
                got.append(float(model.train_on_batch(x, y, return_dict=True)["loss"]))
            step += steps
            checkpoint = StepCheckpoint(folder, every=1, llm_config=config.get_config(), start_step=step)
            checkpoint.set_model(model)
            checkpoint.save()
    final = model.get_weights()
    return {
        "want": want,
        "got": got,
        "sharded_weights_per_mesh": sharded_on,
        "final_max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(final, reference.get_weights())),
    }


def _null():
    import contextlib

    return contextlib.nullcontext()


def main(folder, recipe_args):
    import time

    import keras
    import numpy as np

    started = time.process_time()
    result = {"backend": keras.backend.backend(), "devices": len(keras.distribution.list_devices())}
    result["layouts"] = layouts(keras, np)
    result["layout_cpu_seconds"] = time.process_time() - started
    result["resume"] = resume_across_meshes(keras, np, folder)
    result["resume_cpu_seconds"] = time.process_time() - started - result["layout_cpu_seconds"]
    if recipe_args:
        from zoo.cli import load_recipe

        load_recipe("pretrain-clm").recipe.run(recipe_args)
    result["cpu_seconds"] = time.process_time() - started
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
