"""Scaling one model over several devices: the JAX route (keras.distribution) and pipeline parallel.

Data parallelism on TensorFlow lives in `zoo.train.strategy` (tf.distribute around fit()).

- `backend`: `--backend tensorflow|jax`, chosen before Keras is imported; TF-only tools refuse JAX.
- `distribution`: `--distribution data|model|data+model --mesh BxM` for every training recipe.
- `hosts`: several hosts with keras.distribution.initialize (jax.distributed); only process 0 writes.
- `model_parallel`: tensor-parallel sharding of the LLM's attention and feed-forward weights
  with a LayoutMap over a DeviceMesh (JAX backend).
- `pipeline_parallel`: the LLM's blocks split into stages on different devices, trained with a
  GPipe schedule of micro-batches (a teaching implementation).

Example:
    >>> from zoo.parallel.pipeline_parallel import bubble_fraction
    >>> bubble_fraction(stages=4, micro_batches=8)
    0.2727272727272727
"""
