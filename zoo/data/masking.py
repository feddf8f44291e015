"""MLM masking that is dynamic (new masks every epoch) and reproducible (same masks for the same seed).

keras-hub's `MaskedLMMaskGenerator` does the BERT masking (select 15 % of the
non-special tokens; of those 80 % -> [MASK], 10 % -> a random token, 10 %
unchanged) through tf-text, whose random ops take no seed: their values then
depend on TensorFlow's global seed and on how many ops were traced before,
which changes from program to program. This subclass keeps keras-hub's layer
and tf-text's algorithm and only swaps the source of randomness for its own
`tf.random.Generator`, created from `seed`. The generator's state lives in a
variable, so it moves on from epoch to epoch (new masks each time, even when
each epoch starts a new dataset iterator) and starts from the same state in
every run.

Example:
    >>> masker = SeededMaskedLMMaskGenerator(vocabulary_size=100, mask_selection_rate=0.5, mask_token_id=4,
    ...                                      mask_selection_length=4, unselectable_token_ids=[0, 2, 3], seed=1)
    >>> out = masker([[2, 10, 11, 12, 13, 14, 3, 0]])
    >>> sorted(out), out["mask_positions"].shape
    (['mask_ids', 'mask_positions', 'mask_weights', 'token_ids'], TensorShape([1, 4]))
"""

import keras
import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text


class _SeededMaskValuesChooser(tf_text.MaskValuesChooser):
    """tf-text's 80/10/10 chooser with its two random draws taken from `generator`."""

    def __init__(self, generator, vocab_size, mask_token, mask_token_rate, random_token_rate):
        super().__init__(vocab_size, mask_token, mask_token_rate=mask_token_rate, random_token_rate=random_token_rate)
        self._generator = generator

    def get_mask_values(self, masked_lm_ids):
        # The same steps as tf_text.MaskValuesChooser.get_mask_values, seeded.
        ids = masked_lm_ids if masked_lm_ids.ragged_rank == 1 else masked_lm_ids.merge_dims(1, -1)
        flat = ids.flat_values
        draw = self._generator.uniform(tf.shape(flat), 0, 1, dtype=tf.float32)
        mask_rate = tf.cast(self._mask_token_rate, tf.float32)
        random_rate = tf.cast(self._random_token_rate, tf.float32)
        values = tf.where(draw < mask_rate, tf.cast(tf.fill(tf.shape(flat), self._mask_token), flat.dtype), flat)
        random_tokens = self._generator.uniform(tf.shape(flat), 0, self._vocab_size, dtype=tf.int64)
        inject = tf.logical_and(draw > mask_rate, draw < mask_rate + random_rate)
        values = tf.where(inject, tf.cast(random_tokens, flat.dtype), values)
        return ids.with_flat_values(values)


@keras.saving.register_keras_serializable(package="zoo")
class SeededMaskedLMMaskGenerator(keras_hub.layers.MaskedLMMaskGenerator):
    """keras-hub's MaskedLMMaskGenerator drawing from a `tf.random.Generator` seeded with `seed`.

    Example:
        >>> a = SeededMaskedLMMaskGenerator(100, 0.5, 4, unselectable_token_ids=[0], seed=7)
        >>> b = SeededMaskedLMMaskGenerator(100, 0.5, 4, unselectable_token_ids=[0], seed=7)
        >>> x = [[5, 6, 7, 8, 9, 10, 11, 12]]
        >>> bool((a(x)["token_ids"] == b(x)["token_ids"]).numpy().all())
        True
    """

    def __init__(self, *args, seed=0, **kwargs):
        # Eager calls too go through the TF path (keras-hub would use Python's unseeded `random`).
        kwargs.setdefault("_allow_python_workflow", False)
        super().__init__(*args, **kwargs)
        self.seed = seed
        # Made here, eagerly: a generator must not be created inside a tf.data function.
        self._generator = tf.random.Generator.from_seed(seed)

    def _maybe_initialize_tf(self):
        if self._random_selector is not None:
            return
        generator = self._generator

        def shuffle(positions):
            # A seeded permutation: sort by one uniform draw per position.
            return tf.gather(positions, tf.argsort(generator.uniform(tf.shape(positions), dtype=tf.float32)))

        self._random_selector = tf_text.RandomItemSelector(
            max_selections_per_batch=self.mask_selection_length or 2**31 - 1,
            selection_rate=self.mask_selection_rate,
            unselectable_ids=self.unselectable_token_ids,
            shuffle_fn=shuffle,
        )
        self._mask_values_chooser = _SeededMaskValuesChooser(
            generator, self.vocabulary_size, self.mask_token_id, self.mask_token_rate, self.random_token_rate
        )

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config
