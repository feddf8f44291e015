"""Knowledge distillation: a small student learns from a trained teacher's softened outputs.

Hinton et al. (2015): besides the true labels, the student matches the
teacher's whole output distribution, softened by a temperature T so that the
small probabilities ("a 3 looks a bit like an 8") carry signal. The loss is

    alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(t / T) || softmax(s / T))

(T^2 keeps the soft term's gradients on the scale of the hard one). `Distiller`
is the keras.io `knowledge_distillation` example in Keras 3 form: a
`keras.Model` whose `compute_loss` adds the teacher's term, so `fit()`,
callbacks and progress bars work unchanged and no hand-written loop is needed.
It works for any pair of models with the same output shape: the CNN on digits
([batch, classes]) and a causal LM, where every token position has its own
softened distribution over the vocabulary ([batch, seq, vocab]).

Keras 3.15 ships the same idea as `keras.distillation.Distiller` (with
`LogitsDistillation`: logits / T, softmax, KL, times T^2). `Distiller` here
stays as the worked example: the whole loss in one `compute_loss` a reader can
follow line by line. `keras_distiller` builds Keras' own with the same loss
(`SoftenedDistillation` adds what the tutorial CNN needs: it outputs
probabilities, not logits), and the recipes train with it; a test checks that
both give the same loss on the same batch.

`compare_with_scratch` trains the same student twice from the same initial
weights, once distilled and once on the labels alone, for the same steps, so
the gain from the teacher is measured and not assumed.

Example:
    >>> from zoo import build_cnn
    >>> teacher = build_cnn()                      # train it first
    >>> distiller = Distiller(student_cnn(), teacher, alpha=0.1, temperature=3.0, from_logits=False)
    >>> distiller.compile(optimizer="adam", metrics=["accuracy"])
    >>> distiller.fit(x_train, y_train, epochs=5)   # doctest: +SKIP
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class Distiller(keras.Model):
    """Trains `student` on labels plus the temperature-softened outputs of a frozen `teacher`.

    Args:
        student: the model being trained (its outputs are this model's outputs).
        teacher: a trained model with the same output shape; it is frozen here.
        alpha: weight of the student's own label loss; 1 - alpha goes to the teacher's term.
        temperature: softening temperature T (> 0); T = 1 is the plain softmax.
        from_logits: True when both models output logits (zoo LLMs); False when they
            output probabilities (the tutorial CNN's softmax), which are turned into
            log-probabilities, i.e. logits up to a constant, before softening.

    Example:
        >>> from zoo.llm import build_llm
        >>> teacher = build_llm("causal", "tiny")
        >>> student = build_llm("causal", "tiny", num_layers=1, hidden_dim=32, num_heads=2)
        >>> distiller = Distiller(student, teacher, alpha=0.5, temperature=2.0)
        >>> distiller.compile(optimizer=keras.optimizers.AdamW(1e-3))
    """

    def __init__(self, student, teacher, alpha=0.1, temperature=3.0, from_logits=True, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha weighs the label loss against the teacher's and must lie in [0, 1], got {alpha}.")
        if not float(temperature) > 0.0:
            raise ValueError(f"temperature must be > 0 (1 = no softening, 2-5 is usual), got {temperature}.")
        _check_same_outputs(student, teacher)
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False  # only the student learns
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.from_logits = bool(from_logits)
        self.student_loss_tracker = keras.metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")

    def compile(self, optimizer="adam", metrics=None, student_loss_fn=None, distillation_loss_fn=None, **kwargs):
        """Compile with the student's label loss (default: sparse cross-entropy) and KL divergence."""
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        self.student_loss_fn = student_loss_fn or keras.losses.SparseCategoricalCrossentropy(
            from_logits=self.from_logits
        )
        self.distillation_loss_fn = distillation_loss_fn or keras.losses.KLDivergence()

    def call(self, x, training=None):
        return self.student(x, training=training)

    def _logits(self, outputs):
        outputs = ops.cast(outputs, "float32")
        if self.from_logits:
            return outputs
        # log p is a logit vector up to a per-row constant, which softmax ignores.
        return ops.log(ops.clip(outputs, 1e-7, 1.0))

    def soft_targets(self, x):
        """The teacher's temperature-softened distribution for inputs `x` (last axis sums to 1)."""
        return ops.softmax(self._logits(self.teacher(x, training=False)) / self.temperature, axis=-1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        student_loss = self.student_loss_fn(y, y_pred, sample_weight=sample_weight)
        soft_student = ops.softmax(self._logits(y_pred) / self.temperature, axis=-1)
        # KL is averaged over every leading axis: per image for the CNN, per token for an LM.
        distillation_loss = self.distillation_loss_fn(ops.stop_gradient(self.soft_targets(x)), soft_student)
        distillation_loss = distillation_loss * (self.temperature**2)
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation_loss)
        return self.alpha * student_loss + (1.0 - self.alpha) * distillation_loss

    def get_config(self):
        # A Distiller is a training harness: save `distiller.student`, the model that ships.
        return {
            "student": keras.saving.serialize_keras_object(self.student),
            "teacher": keras.saving.serialize_keras_object(self.teacher),
            "alpha": self.alpha,
            "temperature": self.temperature,
            "from_logits": self.from_logits,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("student", "teacher"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class SoftenedDistillation(keras.distillation.LogitsDistillation):
    """Keras' `LogitsDistillation` (KL between temperature-softened outputs, times T^2), for logits or probabilities.

    Keras divides its inputs by T as if they were logits; a model ending in softmax
    (the tutorial CNN) gives probabilities, so with `from_logits=False` they are first
    turned into log-probabilities (logits up to a per-row constant, which softmax
    ignores). Outputs are cast to float32 so a mixed-precision student softens in float32.

    Example:
        >>> import numpy as np
        >>> loss = SoftenedDistillation(temperature=2.0)
        >>> z = np.array([[1.0, 2.0, 3.0]], "float32")
        >>> round(float(loss.compute_loss(z, z)), 6)
        0.0
    """

    def __init__(self, temperature=3.0, from_logits=True, loss=None):
        # An instance, not the string "kl_divergence": Keras softens (softmax, T^2) only for a KLDivergence instance,
        # the string would give the bare kl_divergence function applied to logits.
        super().__init__(temperature=temperature, loss=loss or keras.losses.KLDivergence())
        self.from_logits = bool(from_logits)

    def _as_logits(self, outputs):
        outputs = ops.cast(outputs, "float32")
        return outputs if self.from_logits else ops.log(ops.clip(outputs, 1e-7, 1.0))

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        return super().compute_loss(self._as_logits(teacher_outputs), self._as_logits(student_outputs), **kwargs)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


def keras_distiller(student, teacher, alpha=0.1, temperature=3.0, from_logits=True):
    """Keras' own `keras.distillation.Distiller` with the loss of zoo's `Distiller` (same arguments).

    alpha is Keras' `student_loss_weight`; compile it with the label loss, e.g.
    `compile(optimizer=..., loss=keras.losses.SparseCategoricalCrossentropy(from_logits=...))`
    (`compile_keras_distiller` does this). Its history logs `student_loss`, `distillation_loss`
    and `total_loss`.

    Example:
        >>> from zoo.llm import build_llm
        >>> teacher = build_llm("causal", "tiny", num_layers=1)
        >>> student = build_llm("causal", "tiny", num_layers=1, hidden_dim=32, num_heads=2)
        >>> distiller = keras_distiller(student, teacher, alpha=0.5, temperature=2.0)
        >>> distiller.student is student
        True
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha weighs the label loss against the teacher's and must lie in [0, 1], got {alpha}.")
    if not float(temperature) > 0.0:
        raise ValueError(f"temperature must be > 0 (1 = no softening, 2-5 is usual), got {temperature}.")
    _check_same_outputs(student, teacher)
    return keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=SoftenedDistillation(temperature=float(temperature), from_logits=from_logits),
        student_loss_weight=float(alpha),
    )


def compile_keras_distiller(distiller, from_logits=True, **compile_args):
    """Compile a `keras_distiller` with the student's label loss (sparse cross-entropy) and `compile_args`."""
    distiller.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits), **compile_args)
    return distiller


def _check_same_outputs(student, teacher):
    s = getattr(student, "output_shape", None) if student.built else None
    t = getattr(teacher, "output_shape", None) if teacher.built else None
    if isinstance(s, tuple) and isinstance(t, tuple) and s and t and s[-1] != t[-1]:
        raise ValueError(
            f"The student outputs {s[-1]} classes per position but the teacher {t[-1]}: distillation compares "
            "their distributions over the same labels (for LMs: the same tokenizer and vocab_size)."
        )


def student_cnn(num_classes=10, filters=(8, 16, 16), dense_units=32, compile=True):
    """A smaller version of the tutorial CNN (about a tenth of its parameters) to distill into.

    Example:
        >>> from zoo import build_cnn
        >>> student_cnn().count_params() < build_cnn().count_params() / 5
        True
    """
    from zoo.vision.cnn import build_cnn

    return build_cnn(
        num_classes=num_classes, filters=filters, dense_units=dense_units, compile=compile, name="student_cnn"
    )


def compare_with_scratch(
    teacher,
    build_student,
    fit,
    evaluate,
    compile_args,
    alpha=0.1,
    temperature=3.0,
    from_logits=True,
    distill_callbacks=(),
    engine="keras",
):
    """Train one student distilled from `teacher` and the same student from scratch; return both scores.

    Both students start from the same initial weights and train with the same
    optimizer settings, data and number of steps; only the loss differs.

    Args:
        teacher: the trained teacher model.
        build_student: a function returning a new (uncompiled) student model.
        fit: function(model, callbacks) -> History that trains a compiled model (the Distiller,
            then the scratch student) on the same data for the same steps.
        evaluate: function(model) -> score (accuracy, or perplexity: the caller knows which way is better).
        compile_args: function() -> dict with a fresh "optimizer" (and "metrics"), called once per student.
        alpha, temperature, from_logits: see `Distiller`.
        distill_callbacks: callbacks for the distilled run only (e.g. a run folder's CSV logger).
        engine: "keras" trains with `keras.distillation.Distiller` (`keras_distiller`), "zoo" with
            this module's `Distiller`; both compute the same loss.

    Returns:
        {"distilled": score, "scratch": score, "student_params": int,
            "distilled_model": model, "scratch_model": model, "distilled_history", "scratch_history"}.

    Example:
        >>> fit = lambda model, callbacks: model.fit(x, y, epochs=3, callbacks=callbacks)
        >>> result = compare_with_scratch(teacher, student_cnn, fit, accuracy_of,
        ...                               lambda: {"optimizer": "adam"}, from_logits=False)   # doctest: +SKIP
    """
    distilled = build_student()
    scratch = build_student()
    scratch.set_weights(distilled.get_weights())  # the same starting point: only the teacher differs
    if engine == "keras":
        distiller = keras_distiller(distilled, teacher, alpha=alpha, temperature=temperature, from_logits=from_logits)
        compile_keras_distiller(distiller, from_logits=from_logits, **compile_args())
    elif engine == "zoo":
        distiller = Distiller(distilled, teacher, alpha=alpha, temperature=temperature, from_logits=from_logits)
        distiller.compile(**compile_args())
    else:
        raise ValueError(f"engine must be 'keras' (keras.distillation.Distiller) or 'zoo' (Distiller), got {engine!r}.")
    distilled_history = fit(distiller, list(distill_callbacks))
    scratch.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits), **compile_args())
    scratch_history = fit(scratch, [])
    return {
        "distilled": float(evaluate(distilled)),
        "scratch": float(evaluate(scratch)),
        "student_params": int(distilled.count_params()),
        "distilled_model": distilled,
        "scratch_model": scratch,
        "distilled_history": distilled_history.history,
        "scratch_history": scratch_history.history,
    }
