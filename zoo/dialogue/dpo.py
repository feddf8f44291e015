"""Direct Preference Optimization (Rafailov et al. 2023): align a chat model on chosen/rejected reply pairs.

RLHF fits a reward model and then runs PPO against it; DPO shows the same
objective (reward minus a KL penalty to a reference model) is optimised directly
by a classification loss on the pairs:

    loss = -log sigmoid(beta * ((log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected))))

where log pi(reply) is the summed log-probability of the reply's tokens given the
prompt under the trainable policy, and ref the same under a frozen copy of the
starting model. beta sets how far the policy may move from the reference.
`beta * (log pi - log ref)` is the implicit reward; the reward margin is its
chosen-minus-rejected difference and reward accuracy the share of pairs where
it is positive.

`DPOTrainer` is a keras.Model whose `train_step` computes this (keras.io's
custom-train_step pattern), so `fit()` trains it.

Example:
    >>> from zoo.llm import build_llm
    >>> policy = build_llm("causal", "tiny", num_layers=1, compile=False)
    >>> trainer = DPOTrainer(policy, frozen_copy(policy), beta=0.1)
    >>> trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    >>> batch = pair_arrays([([1, 2], [3, 4], [5])], seq_len=6)
    >>> round(float(trainer.evaluate(batch, verbose=0, return_dict=True)["loss"]), 4)   # log 2 at the start
    0.6931
"""

import keras
import numpy as np
from keras import ops

PAIR_KEYS = ("chosen_ids", "chosen_mask", "chosen_weights", "rejected_ids", "rejected_mask", "rejected_weights")


def frozen_copy(model):
    """A non-trainable clone of `model` with the same weights: DPO's reference."""
    # From the config, not keras.models.clone_model: the clone's weight list need not match a zoo LLM's.
    reference = model.__class__.from_config(model.get_config())
    reference.set_weights(model.get_weights())
    reference.trainable = False
    return reference


def encode_pairs(pairs, tokenizer, template):
    """[(prompt ids, chosen ids, rejected ids)]: the prompt through the assistant header; each reply is its
    content and the end-of-turn, tokenized exactly as `ChatTemplate.encode` tokenizes an assistant turn."""
    from zoo.dialogue.chat_template import tokenize_many

    out = []
    for pair in pairs:
        prompt, _ = template.encode(tokenizer, pair["prompt"], add_generation_prompt=True)
        chosen, rejected = tokenize_many(tokenizer, [pair["chosen"], pair["rejected"]])
        eot = [int(template.end_of_turn_id)]
        out.append((prompt.tolist(), chosen + eot, rejected + eot))
    return out


def pair_arrays(rows, seq_len, pad_id=0):
    """DPO inputs from (prompt, chosen, rejected) id lists: per side ids [n, seq_len + 1], padding mask, and
    weights that are 1 exactly on reply tokens (prompt tokens are cut from the left when a row is too long)."""
    n = len(rows)
    arrays = {key: np.zeros((n, seq_len + 1), "int32") for key in PAIR_KEYS}
    for key in ("chosen_ids", "rejected_ids"):
        arrays[key][:] = pad_id
    for i, (prompt, chosen, rejected) in enumerate(rows):
        for side, reply in (("chosen", chosen), ("rejected", rejected)):
            reply = list(reply)[:seq_len]
            keep = seq_len + 1 - len(reply)
            ids = list(prompt)[-keep:] + reply
            arrays[f"{side}_ids"][i, : len(ids)] = ids
            arrays[f"{side}_mask"][i, : len(ids)] = 1
            arrays[f"{side}_weights"][i, len(ids) - len(reply) : len(ids)] = 1
    return {k: v.astype("float32") if k.endswith("weights") else v for k, v in arrays.items()}


def sequence_logprob(model, ids, mask, weights):
    """Summed log-probability of the tokens with weight 1 (each predicted from the tokens before it)."""
    logits = model({"token_ids": ids[:, :-1], "padding_mask": mask[:, :-1]})
    logp = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    targets = ops.expand_dims(ops.cast(ids[:, 1:], "int32"), -1)
    token_logp = ops.squeeze(ops.take_along_axis(logp, targets, axis=-1), -1)
    return ops.sum(token_logp * ops.cast(weights[:, 1:], "float32"), axis=1)


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    """(per-pair loss, per-pair reward margin): -log sigmoid(beta ((pi_c - ref_c) - (pi_r - ref_r)))."""
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))
    return -ops.log_sigmoid(margin), margin


@keras.saving.register_keras_serializable(package="zoo")
class DPOTrainer(keras.Model):
    """A trainable `policy` causal LM and its frozen `reference`, trained by `fit()` on pair batches."""

    def __init__(self, policy, reference, beta=0.1, **kwargs):
        super().__init__(**kwargs)
        self.policy = policy
        self.reference = reference
        self.reference.trainable = False
        self.beta = float(beta)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.margin_tracker = keras.metrics.Mean(name="reward_margin")
        self.accuracy_tracker = keras.metrics.Mean(name="reward_accuracy")
        self.chosen_tracker = keras.metrics.Mean(name="chosen_logprob")

    @property
    def metrics(self):
        return [self.loss_tracker, self.margin_tracker, self.accuracy_tracker, self.chosen_tracker]

    def get_config(self):
        # A DPOTrainer is a training harness: save `trainer.policy`, the model that ships.
        return {
            "policy": keras.saving.serialize_keras_object(self.policy),
            "reference": keras.saving.serialize_keras_object(self.reference),
            "beta": self.beta,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("policy", "reference"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def call(self, data, training=False):
        return self._forward(data)

    def _forward(self, data):
        chosen = (data["chosen_ids"], data["chosen_mask"], data["chosen_weights"])
        rejected = (data["rejected_ids"], data["rejected_mask"], data["rejected_weights"])
        ref_c = ops.stop_gradient(sequence_logprob(self.reference, *chosen))
        ref_r = ops.stop_gradient(sequence_logprob(self.reference, *rejected))
        pi_c = sequence_logprob(self.policy, *chosen)
        pi_r = sequence_logprob(self.policy, *rejected)
        loss, margin = dpo_loss(pi_c, pi_r, ref_c, ref_r, self.beta)
        return ops.mean(loss), margin, pi_c

    def _update_metrics(self, loss, margin, pi_c):
        self.loss_tracker.update_state(loss)
        self.margin_tracker.update_state(ops.mean(margin))
        self.accuracy_tracker.update_state(ops.mean(ops.cast(margin > 0, "float32")))
        self.chosen_tracker.update_state(ops.mean(pi_c))
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError("zoo's DPOTrainer train_step uses the TensorFlow backend; set KERAS_BACKEND=tensorflow.")
        import tensorflow as tf  # the TF backend's train_step needs a gradient tape (keras.io's pattern)

        if isinstance(data, tuple):
            data = data[0]
        with tf.GradientTape() as tape:
            loss, margin, pi_c = self._forward(data)
        variables = self.policy.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._update_metrics(loss, margin, pi_c)

    def test_step(self, data):
        if isinstance(data, tuple):
            data = data[0]
        return self._update_metrics(*self._forward(data))


def preference_accuracy(model, arrays, batch_size=32):
    """Share of pairs where `model` gives the chosen reply a higher log-probability than the rejected one."""
    wins = []
    for start in range(0, len(arrays["chosen_ids"]), batch_size):
        part = {k: v[start : start + batch_size] for k, v in arrays.items()}
        c = sequence_logprob(model, part["chosen_ids"], part["chosen_mask"], part["chosen_weights"])
        r = sequence_logprob(model, part["rejected_ids"], part["rejected_mask"], part["rejected_weights"])
        wins.append(ops.convert_to_numpy(c) > ops.convert_to_numpy(r))
    return float(np.concatenate(wins).mean())


def mean_margin(trainer, arrays, batch_size=32):
    """Mean implicit reward margin beta ((pi_c - ref_c) - (pi_r - ref_r)) over the pairs."""
    margins = []
    for start in range(0, len(arrays["chosen_ids"]), batch_size):
        part = {k: v[start : start + batch_size] for k, v in arrays.items()}
        margins.append(ops.convert_to_numpy(trainer._forward(part)[1]))
    return float(np.concatenate(margins).mean())
