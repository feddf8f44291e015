import numpy as np
import pytest

from tests.conftest import same_weights, weights_of
from tests.harness import run_model_saving_test
from zoo import build_gan
from zoo.gan.score import class_evenness, gan_score


def test_parameter_counts_equal_tutorial_architecture():
    gan = build_gan()
    # generator: Dense(100->128) + Dense(128->784)
    assert gan.generator.count_params() == (100 * 128 + 128) + (128 * 784 + 784) == 114_064
    # discriminator: Conv 5x5x1x64, Conv 5x5x64x128, Dense(7*7*128 -> 1)
    assert gan.discriminator.count_params() == (25 * 64 + 64) + (25 * 64 * 128 + 128) + (7 * 7 * 128 + 1) == 212_865
    assert gan.generator.output_shape == (None, 28, 28, 1)
    assert gan.generator.layers[-2].activation.__name__ == "tanh"
    assert gan.discriminator.layers[-1].activation.__name__ == "sigmoid"
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert optimizer.beta_1 == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kind, generator_loss, noise",
    [("mlp", "standard", 0.0), ("dcgan", "standard", 0.0), ("mlp", "feature_matching", 0.1)],
)
def test_each_half_step_updates_only_its_own_network(kind, generator_loss, noise):
    gan = build_gan(generator=kind, generator_loss=generator_loss, instance_noise=noise, seed=1)
    real = np.random.default_rng(0).uniform(-1, 1, size=(8, 28, 28, 1)).astype("float32")

    g0, d0 = weights_of(gan.generator), weights_of(gan.discriminator)
    gan.discriminator_step(real)
    g1, d1 = weights_of(gan.generator), weights_of(gan.discriminator)
    assert same_weights(g0, g1), "the discriminator step must not touch the generator"
    assert not same_weights(d0, d1), "the discriminator step must update the discriminator"

    gan.generator_step(8, real)
    g2, d2 = weights_of(gan.generator), weights_of(gan.discriminator)
    assert same_weights(d1, d2), "the generator step must not touch the discriminator"
    assert not same_weights(g1, g2), "the generator step must update the generator"


def _mean_image_gap(generator, images):
    """Mean absolute difference between the average generated image and the average real one."""
    noise = np.random.default_rng(0).normal(size=(256, 100)).astype("float32")
    return float(np.abs(generator.predict(noise, verbose=0).mean(axis=0) - images.mean(axis=0)).mean())


def test_fit_trains_both_networks_and_the_generator_beats_an_untrained_one(digits):
    (x, _), _ = digits
    images = x[:512] * 2.0 - 1.0  # the generator's tanh range
    gan = build_gan(seed=0)
    g0, d0 = weights_of(gan.generator), weights_of(gan.discriminator)
    untrained_gap = _mean_image_gap(gan.generator, images)
    history = gan.fit(images, batch_size=64, epochs=4, verbose=0)
    assert not same_weights(g0, weights_of(gan.generator))
    assert not same_weights(d0, weights_of(gan.discriminator))
    logs = history.history
    assert set(logs) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v).all() for v in logs.values())
    # Binary crossentropy of a guessing discriminator is ln 2; a learning one does better.
    assert logs["d_loss"][-1] < np.log(2.0)
    # GAN vs an untrained generator: its images are much closer to the digits on average
    # (0.53 untrained, about 0.30 after these 32 steps, measured on two seeds).
    assert _mean_image_gap(gan.generator, images) < 0.75 * untrained_gap


def test_save_load_gives_identical_generated_images_and_keeps_optimizers():
    gan = build_gan(generator="dcgan", seed=0)
    real = np.random.default_rng(0).uniform(-1, 1, size=(8, 28, 28, 1)).astype("float32")
    gan.fit(real, batch_size=8, epochs=1, verbose=0)
    noise = np.random.default_rng(1).normal(size=(4, 100)).astype("float32")
    loaded = run_model_saving_test(gan, noise)  # the same generated images
    np.testing.assert_array_equal(gan.discriminator(real), loaded.discriminator(real))
    assert int(loaded.d_optimizer.iterations) == int(gan.d_optimizer.iterations) == 1
    for a, b in zip(gan.g_optimizer.variables, loaded.g_optimizer.variables):
        np.testing.assert_array_equal(a, b)


def test_unknown_generator_and_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="choose one of: mlp, dcgan"):
        build_gan(generator="stylegan")
    with pytest.raises(ValueError, match="latent_dim"):
        build_gan(latent_dim=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        build_gan(label_smoothing=0.7)
    with pytest.raises(ValueError, match="choose one of: standard, feature_matching"):
        build_gan(generator_loss="wasserstein")
    with pytest.raises(ValueError, match="instance_noise"):
        build_gan(instance_noise=-1.0)
    with pytest.raises(ValueError, match="generator_steps"):
        build_gan(generator_steps=0)


def test_class_evenness_is_one_for_uniform_and_zero_for_collapse():
    assert class_evenness([5] * 10) == pytest.approx(1.0)
    assert class_evenness([50, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == 0.0
    # Closed form: the entropy of (3/4, 1/4) over the entropy of 10 equal classes.
    expected = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25)) / np.log(10)
    assert class_evenness([30, 10, 0, 0, 0, 0, 0, 0, 0, 0]) == pytest.approx(expected, rel=1e-12)


def test_gan_score_counts_confident_images_per_class():
    # A stand-in generator that emits real digits and a classifier that knows them.
    from zoo.data.digits import load_digits_28

    (x, y), _ = load_digits_28()

    class Lookup:
        input_shape = (None, 100)

        def predict(self, noise, **kwargs):
            return x[: len(noise)] * 2.0 - 1.0  # images in [-1, 1]

    class Oracle:
        def predict(self, images, **kwargs):
            return np.eye(10)[y[: len(images)]]

    score = gan_score(Lookup(), Oracle(), n=200)
    assert score["confident_share"] == 1.0
    assert sum(score["class_counts"]) == 200
    assert score["class_evenness"] > 0.95
