"""The tutorial's GAN for 28x28 digits, with a `train_step` that actually trains it.

Generator (as printed): 100-d noise -> Dense(128, relu) -> Dense(784, tanh) -> Reshape(28, 28, 1).
Discriminator (as printed): Conv2D(64, 5x5, same, relu) -> MaxPool -> Conv2D(128, 5x5, same, relu)
-> MaxPool -> Flatten -> Dense(1, sigmoid). Each has Adam(2e-4, beta_1=0.5).

Why the printed code does not train: it compiles the two networks separately, passes
`trainable=False` to `compile()` (which is not a compile argument, so nothing is frozen),
and never builds the combined generator->discriminator model, so the generator has no
loss that depends on the discriminator and never learns to fool it. The fix, following
keras.io's DCGAN example, is one model whose `train_step` alternates two half-steps:

1. discriminator step: real images labelled 1, generated images labelled 0; only the
   discriminator's weights are updated;
2. generator step: fresh noise through generator and discriminator, labelled 1 ("real"),
   so the generator learns to fool the discriminator; only the generator's weights move.

Example:
    >>> import numpy as np
    >>> from zoo import build_gan
    >>> gan = build_gan(seed=0)                # compiled, ready for fit
    >>> real_images = np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")  # digits in [-1, 1]
    >>> history = gan.fit(real_images, batch_size=8, epochs=1, verbose=0)   # the recipe: 50 epochs of digits
    >>> gan.generator.predict(gan.sample_noise(16), verbose=0).shape
    (16, 28, 28, 1)
"""

import keras
from keras import layers, ops

from zoo.validation import check_choice

LATENT_DIM = 100
IMAGE_SHAPE = (28, 28, 1)


def build_generator(latent_dim=LATENT_DIM, kind="mlp"):
    """The generator: "mlp" is the tutorial's; "dcgan" is a convolutional upsampling generator."""
    check_choice(kind, ("mlp", "dcgan"), "generator kind")
    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(latent_dim,), name="noise"))
    if kind == "mlp":
        model.add(layers.Dense(128, activation="relu", name="dense"))
        model.add(layers.Dense(784, activation="tanh", name="pixels"))
        model.add(layers.Reshape(IMAGE_SHAPE, name="image"))
    else:
        # DCGAN (Radford et al. 2016): project, then two stride-2 transposed convolutions 7 -> 14 -> 28.
        model.add(layers.Dense(7 * 7 * 128, use_bias=False, name="project"))
        model.add(layers.BatchNormalization(name="project_bn"))
        model.add(layers.LeakyReLU(0.2, name="project_act"))
        model.add(layers.Reshape((7, 7, 128), name="reshape"))
        model.add(layers.Conv2DTranspose(64, 4, strides=2, padding="same", use_bias=False, name="up1"))
        model.add(layers.BatchNormalization(name="up1_bn"))
        model.add(layers.LeakyReLU(0.2, name="up1_act"))
        model.add(layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh", name="image"))
    return model


def build_discriminator():
    """The tutorial's discriminator: two 5x5 conv + pool stages and a sigmoid real/fake output."""
    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(shape=IMAGE_SHAPE, name="image"))
    model.add(layers.Conv2D(64, (5, 5), padding="same", activation="relu", name="conv1"))
    model.add(layers.MaxPooling2D((2, 2), name="pool1"))
    model.add(layers.Conv2D(128, (5, 5), padding="same", activation="relu", name="conv2"))
    model.add(layers.MaxPooling2D((2, 2), name="pool2"))
    model.add(layers.Flatten(name="flatten"))
    model.add(layers.Dense(1, activation="sigmoid", name="real_probability"))
    return model


def _adam():
    # The tutorial's Adam(lr=0.0002, beta_1=0.5); `lr` is `learning_rate` in Keras 3.
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


@keras.saving.register_keras_serializable(package="zoo")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other by `fit()`."""

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim=LATENT_DIM,
        label_smoothing=0.0,
        instance_noise=0.0,
        generator_steps=1,
        generator_loss="standard",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if generator.output_shape[1:] != discriminator.input_shape[1:]:
            raise ValueError(
                f"The generator makes images of shape {generator.output_shape[1:]} but the discriminator "
                f"takes {discriminator.input_shape[1:]}; they must match."
            )
        if not 0.0 <= label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}.")
        if instance_noise < 0:
            raise ValueError(f"instance_noise is a standard deviation and must be >= 0, got {instance_noise}.")
        if generator_steps < 1:
            raise ValueError(f"generator_steps must be at least 1, got {generator_steps}.")
        check_choice(generator_loss, ("standard", "feature_matching"), "generator_loss")
        self.generator = generator
        self.discriminator = discriminator
        self.generator_loss = generator_loss
        self.latent_dim = latent_dim
        self.label_smoothing = label_smoothing
        self.instance_noise = instance_noise
        self.generator_steps = generator_steps
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")  # mean D(real): ~0.5 when balanced
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")  # mean D(G(z))

    def call(self, noise, training=False):
        """A GAN called on noise returns generated images (so predict() and export work)."""
        return self.generator(noise, training=training)

    def build(self, input_shape=None):
        self.generator.build((None, self.latent_dim))
        self.discriminator.build(self.generator.output_shape)
        self.built = True

    def compile(self, d_optimizer=None, g_optimizer=None, loss_fn=None, **kwargs):
        """Set one optimizer per network (default Adam(2e-4, beta_1=0.5)) and the real/fake loss."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or _adam()
        self.g_optimizer = g_optimizer or _adam()
        self.loss_fn = loss_fn or keras.losses.BinaryCrossentropy()

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def sample_noise(self, n):
        """`n` latent vectors from a standard normal (the generator's input)."""
        return keras.random.normal((n, self.latent_dim), seed=self.seed_generator)

    def _judge(self, images, training):
        # Instance noise (Sonderby et al. 2017): blur what D sees so real and fake overlap and
        # D cannot win outright, which keeps useful gradients flowing to a small generator.
        if self.instance_noise > 0:
            images = images + self.instance_noise * keras.random.normal(ops.shape(images), seed=self.seed_generator)
        return self.discriminator(images, training=training)

    def _features(self, images):
        # The discriminator's last hidden features (its input to the real/fake unit).
        x = images
        if self.instance_noise > 0:
            x = x + self.instance_noise * keras.random.normal(ops.shape(x), seed=self.seed_generator)
        for layer in self.discriminator.layers[:-1]:
            x = layer(x, training=False)
        return x

    def discriminator_step(self, real_images):
        """Half-step 1: update only the discriminator, real -> 1 and generated -> 0. Returns (loss, D(real), D(fake))."""
        import tensorflow as tf  # the TF backend's train_step needs a gradient tape (keras.io's DCGAN pattern)

        batch_size = ops.shape(real_images)[0]
        fake_images = self.generator(self.sample_noise(batch_size), training=False)
        images = ops.concatenate([real_images, fake_images], axis=0)
        # One-sided label smoothing: real targets 1 - s keep D from growing overconfident.
        labels = ops.concatenate(
            [ops.ones((batch_size, 1)) * (1.0 - self.label_smoothing), ops.zeros((batch_size, 1))], axis=0
        )
        with tf.GradientTape() as tape:
            predictions = self._judge(images, training=True)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        return d_loss, ops.mean(predictions[:batch_size]), ops.mean(predictions[batch_size:])

    def generator_step(self, batch_size, real_images=None):
        """Half-step 2: update only the generator so that D calls its images real. Returns the loss.

        With generator_loss="feature_matching" (Salimans et al. 2016) the generator instead matches
        the mean of D's last hidden features on real images, which resists mode collapse.
        """
        import tensorflow as tf

        noise = self.sample_noise(batch_size)
        if self.generator_loss == "feature_matching":
            if real_images is None:
                raise ValueError("generator_loss='feature_matching' needs the batch of real images.")
            target = ops.stop_gradient(ops.mean(self._features(real_images), axis=0))
        with tf.GradientTape() as tape:
            fakes = self.generator(noise, training=True)
            if self.generator_loss == "feature_matching":
                g_loss = ops.mean(ops.square(ops.mean(self._features(fakes), axis=0) - target))
            else:
                g_loss = self.loss_fn(ops.ones((batch_size, 1)), self._judge(fakes, training=False))
        # Gradients flow through D into G, but only G's weights are in the list: D stays frozen here.
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        return g_loss

    def train_step(self, data):
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError("zoo's GAN train_step uses the TensorFlow backend; set KERAS_BACKEND=tensorflow.")
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        d_loss, d_real, d_fake = self.discriminator_step(real_images)
        # Optionally more generator updates per discriminator update, when D keeps winning.
        for _ in range(self.generator_steps):
            g_loss = self.generator_step(ops.shape(real_images)[0], real_images)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(d_real)
        self.d_fake_tracker.update_state(d_fake)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "latent_dim": self.latent_dim,
                "label_smoothing": self.label_smoothing,
                "instance_noise": self.instance_noise,
                "generator_steps": self.generator_steps,
                "generator_loss": self.generator_loss,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss_fn": keras.saving.serialize_keras_object(self.loss_fn),
        }

    def compile_from_config(self, config):
        self.compile(**{k: keras.saving.deserialize_keras_object(v) for k, v in config.items()})
        # Build the optimizers now so that loading restores their saved moments too.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)


def build_gan(
    latent_dim=LATENT_DIM,
    generator="mlp",
    label_smoothing=0.0,
    instance_noise=0.0,
    generator_steps=1,
    generator_loss="standard",
    seed=None,
    compile=True,
):
    """Build the tutorial's GAN (generator + discriminator in one trainable model).

    Args:
        latent_dim: size of the noise vector (100 in the tutorial).
        generator: "mlp" (the tutorial's) or "dcgan" (convolutional, sharper digits).
        label_smoothing: one-sided smoothing of the real labels in the discriminator step (0 = off).
        instance_noise: standard deviation of Gaussian noise added to every image D sees (0 = off).
        generator_steps: generator updates per discriminator update.
        generator_loss: "standard" (fool D) or "feature_matching" (match D's features on real images).
        seed: seed of the noise generator, for repeatable runs.
        compile: compile with Adam(2e-4, beta_1=0.5) for each network and binary crossentropy.
    """
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}.")
    gan = GAN(
        build_generator(latent_dim, generator),
        build_discriminator(),
        latent_dim=latent_dim,
        label_smoothing=label_smoothing,
        instance_noise=instance_noise,
        generator_steps=generator_steps,
        generator_loss=generator_loss,
        seed=seed,
        name=f"gan_{generator}",
    )
    gan.build()
    if compile:
        gan.compile()
    return gan
