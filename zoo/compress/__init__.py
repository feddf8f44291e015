"""Model compression for zoo's Keras 3 models: pruning, quantization, distillation, low rank.

TF-MOT (tensorflow-model-optimization) only works on tf_keras (Keras 2) models, so the
TF-MOT corner (``bridge``, ``prune``, ``qat``, ``ptq``) rebuilds a model in tf_keras,
applies TF-MOT there and brings the weights back. TF-MOT and tf_keras are imported lazily
inside those modules only: importing this package imports neither.

Example:
    from zoo.compress import prune
    result = prune.prune_model(model, target_sparsity=0.8, data=(x, y))
"""
