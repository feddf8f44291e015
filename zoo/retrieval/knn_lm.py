"""kNN-LM (Khandelwal et al. 2020): a trained causal LM that also looks up what came next in similar contexts.

Datastore: run the LM over a corpus; for every position store the key = the
context's last hidden state (the vector the output layer reads, after the final
LayerNorm) and the value = the token that actually came next.

Inference: for the hidden state q of the current context find the k nearest
keys (squared L2 distance d_i), turn them into a distribution over the
vocabulary, and mix it with the LM's own:

    p_kNN(w) = sum_i [v_i = w] * softmax(-d_i / T)
    p(w)     = lam * p_kNN(w) + (1 - lam) * p_LM(w)

lam = 0 is the plain LM. No weights change: adding text to the datastore is
how the model "learns" a new domain (the paper's domain-adaptation result).

Example:
    >>> import numpy as np
    >>> p = knn_distribution(np.array([[0.0, 1.0]]), np.array([[3, 3]]), vocab_size=4)
    >>> p.tolist()
    [[0.0, 0.0, 0.0, 1.0]]
"""

import json
import math
from pathlib import Path

import numpy as np

from zoo.data.atomic_files import atomic_open, write_json_atomic
from zoo.retrieval.errors import EmptyStoreError, check_k
from zoo.retrieval.fingerprints import check_fingerprint, model_fingerprint, tokenizer_fingerprint
from zoo.retrieval.passages import tokenize_texts
from zoo.retrieval.vector_index import build_vector_index, index_file, load_vector_index

MANIFEST = "manifest.json"


def token_windows(texts, tokenizer, seq_len):
    """Concatenate the texts' tokens (</s> after each) and cut windows of seq_len + 1: (ids, mask).

    Windows do not overlap (as in `zoo.data.pipelines.clm_dataset`); the last one
    is right-padded and its padding masked out, so no token is dropped.

    Example:
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["a", "b"])
        >>> ids, mask = token_windows(["a b a", "b"], tok, seq_len=3)
        >>> ids.tolist(), mask.tolist()
        ([[7, 8, 7, 6], [8, 6, 0, 0]], [[1, 1, 1, 1], [1, 1, 0, 0]])
    """
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise EmptyStoreError("no text to build windows from: the corpus (or this split of it) is empty")
    stream = np.concatenate([np.append(ids, tokenizer.end_token_id) for ids in tokenize_texts(texts, tokenizer)])
    width = seq_len + 1
    count = math.ceil(len(stream) / width)
    ids = np.full((count, width), tokenizer.pad_token_id, np.int32)
    mask = np.zeros((count, width), np.int32)
    ids.ravel()[: len(stream)] = stream
    mask.ravel()[: len(stream)] = 1
    keep = mask.sum(axis=1) >= 2  # a window needs one input and one target
    return ids[keep], mask[keep]


def lm_states(model, ids, mask, batch_size=32):
    """Run a CausalLM over (ids, mask) windows: (keys, targets, lm_log_prob_of_target, log_probs or None).

    Returns flat arrays over every real position that has a next token:
    keys [n, d] (the final hidden states), targets [n] (next token ids) and the
    LM's log-probability of each target [n].

    Example:
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny", num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
        >>> keys, targets, logp = lm_states(model, np.array([[1, 2, 3]]), np.array([[1, 1, 1]]))
        >>> keys.shape, targets.tolist(), logp.shape
        ((2, 16), [2, 3], (2,))
    """
    backbone = model.backbone
    keys, targets, logps = [], [], []
    for s in range(0, len(ids), batch_size):
        x = ids[s : s + batch_size, :-1]
        valid = mask[s : s + batch_size, 1:] > 0
        hidden = backbone({"token_ids": x, "padding_mask": mask[s : s + batch_size, :-1]}, training=False)
        logits = np.asarray(backbone.embeddings.logits(hidden), np.float32)
        hidden = np.asarray(hidden, np.float32)
        y = ids[s : s + batch_size, 1:]
        log_norm = _logsumexp(logits)
        target_logits = np.take_along_axis(logits, y[..., None], axis=-1)[..., 0]
        keys.append(hidden[valid])
        targets.append(y[valid])
        logps.append((target_logits - log_norm)[valid])
    return np.concatenate(keys), np.concatenate(targets).astype(np.int32), np.concatenate(logps)


def _logsumexp(x):
    top = x.max(axis=-1)
    return top + np.log(np.exp(x - top[..., None]).sum(axis=-1))


def neighbour_weights(distances, temperature=1.0):
    """softmax(-d / T) over each row of squared distances [n, k].

    Example:
        >>> neighbour_weights(np.array([[0.0, 0.0]])).tolist()
        [[0.5, 0.5]]
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = -np.asarray(distances, np.float64) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def knn_distribution(distances, values, vocab_size, temperature=1.0):
    """p_kNN over the vocabulary [n, vocab_size] from neighbours' distances and next tokens [n, k].

    Example:
        >>> knn_distribution(np.array([[0.0, 0.0]]), np.array([[1, 2]]), 3).tolist()
        [[0.0, 0.5, 0.5]]
    """
    weights = neighbour_weights(distances, temperature)
    values = np.asarray(values, np.int64)
    out = np.zeros((len(values), vocab_size))
    np.add.at(out, (np.repeat(np.arange(len(values)), values.shape[1]), values.ravel()), weights.ravel())
    return out


def knn_target_probs(distances, values, targets, temperature=1.0):
    """p_kNN of each row's target token [n]: the weight of the neighbours whose next token is the target.

    Example:
        >>> knn_target_probs(np.array([[0.0, 0.0]]), np.array([[1, 2]]), np.array([2])).tolist()
        [0.5]
    """
    weights = neighbour_weights(distances, temperature)
    return (weights * (np.asarray(values) == np.asarray(targets)[:, None])).sum(axis=1)


def interpolate(lm_probs, knn_probs, lam):
    """lam * p_kNN + (1 - lam) * p_LM (probabilities, any matching shapes).

    Example:
        >>> interpolate(np.array([0.2, 0.8]), np.array([1.0, 0.0]), 0.0).tolist()
        [0.2, 0.8]
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    return lam * np.asarray(knn_probs) + (1.0 - lam) * np.asarray(lm_probs)


def interpolated_log_probs(lm_log_probs, knn_probs, lam):
    """log(lam * p_kNN + (1 - lam) * p_LM) computed stably from the LM's log-probabilities.

    Example:
        >>> float(interpolated_log_probs(np.array([-1.0]), np.array([0.3]), 0.0)[0])
        -1.0
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], got {lam}")
    lm_log_probs = np.asarray(lm_log_probs, np.float64)
    if lam == 0.0:
        return lm_log_probs
    with np.errstate(divide="ignore"):
        knn_part = np.log(lam) + np.log(np.asarray(knn_probs, np.float64))
    return np.logaddexp(np.log1p(-lam) + lm_log_probs if lam < 1.0 else -np.inf, knn_part)


def perplexity(log_probs):
    """exp of the mean negative log-likelihood.

    Example:
        >>> round(perplexity(np.log([0.5, 0.5])), 6)
        2.0
    """
    return float(math.exp(-float(np.mean(np.asarray(log_probs, np.float64)))))


class KNNDatastore:
    """Keys (context hidden states) and values (next tokens) with a nearest-neighbour index (squared L2).

    Example:
        >>> from zoo.llm import build_llm
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["a", "b"])
        >>> model = build_llm("causal", "tiny", vocab_size=9, num_layers=1, hidden_dim=16, num_heads=2,
        ...                   intermediate_dim=32, compile=False)
        >>> store = KNNDatastore.build(model, tok, ["a b a b a b"], seq_len=4)
        >>> len(store), store.values[:3].tolist()
        (5, [8, 7, 8])
    """

    def __init__(self, keys, values, manifest, index=None, index_kind="auto"):
        if len(values) == 0:
            raise EmptyStoreError("the kNN datastore is empty: build it from a corpus with some text")
        self.keys = np.ascontiguousarray(keys, np.float32)
        self.values = np.asarray(values, np.int32)
        self.manifest = manifest
        self.index = index or build_vector_index(self.keys, kind=index_kind, metric="l2")
        self.manifest["index"] = self.index.kind

    def __len__(self):
        return len(self.values)

    @classmethod
    def build(cls, model, tokenizer, texts, seq_len=128, index_kind="auto", batch_size=32):
        """Run `model` over `texts` and store (hidden state -> next token) for every position."""
        ids, mask = token_windows(list(texts), tokenizer, seq_len)
        keys, values, _ = lm_states(model, ids, mask, batch_size)
        manifest = {
            "entries": int(len(values)),
            "dim": int(keys.shape[1]),
            "seq_len": int(seq_len),
            "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer),
            "model_fingerprint": model_fingerprint(model),
        }
        return cls(keys, values, manifest, index_kind=index_kind)

    def check(self, model, tokenizer):
        """Raise FingerprintMismatchError unless `model` and `tokenizer` are the ones that built the datastore."""
        check_fingerprint(
            "tokenizer",
            self.manifest["tokenizer_fingerprint"],
            tokenizer_fingerprint(tokenizer),
            "rebuild the datastore with this model's tokenizer",
        )
        check_fingerprint(
            "model",
            self.manifest["model_fingerprint"],
            model_fingerprint(model),
            "keys are hidden states of one exact model: rebuild the datastore with this model",
        )

    def neighbours(self, queries, k=16):
        """(squared distances [n, k], next tokens [n, k]) of the k nearest keys of each query."""
        k = check_k(k, len(self), what="datastore")
        idx, distances = self.index.search(queries, k)
        return distances, self.values[idx]

    def save(self, folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(folder / "values.npy", "wb") as handle:
            np.save(handle, self.values)
        with atomic_open(folder / "keys.npy", "wb") as handle:
            np.save(handle, self.keys)
        if self.index.kind != "exact":
            self.index.save(folder / index_file(self.index.kind))
        write_json_atomic(folder / MANIFEST, self.manifest)
        return folder

    @classmethod
    def load(cls, folder):
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; build a datastore with `zoo retrieve knn-lm --save-datastore`")
        manifest = json.loads(path.read_text(encoding="utf-8"))
        keys, values = np.load(folder / "keys.npy"), np.load(folder / "values.npy")
        index = None if manifest["index"] == "exact" else load_vector_index(folder, manifest["index"], "l2")
        return cls(keys, values, manifest, index=index, index_kind="exact")


def evaluate(
    model, tokenizer, texts, datastore=None, seq_len=128, k=16, lams=(0.25,), temperatures=(1.0,), batch_size=32
):
    """Perplexity of the LM alone and, with a datastore, of kNN-LM for every (lam, temperature).

    Returns {"tokens", "lm_perplexity", "knn_lm": [{"lambda", "temperature", "k", "perplexity"}...]}.

    Example:
        >>> evaluate(None, None, [])
        Traceback (most recent call last):
        ...
        zoo.retrieval.errors.EmptyStoreError: no text to build windows from: the corpus (or this split of it) is empty
    """
    ids, mask = token_windows(list(texts), tokenizer, seq_len)
    queries, targets, lm_logp = lm_states(model, ids, mask, batch_size)
    result = {"tokens": int(len(targets)), "lm_perplexity": perplexity(lm_logp), "knn_lm": []}
    if datastore is None:
        return result
    datastore.check(model, tokenizer)
    distances, values = datastore.neighbours(queries, k)
    for temperature in temperatures:
        p_knn = knn_target_probs(distances, values, targets, temperature)
        for lam in lams:
            ppl = perplexity(interpolated_log_probs(lm_logp, p_knn, lam))
            result["knn_lm"].append(
                {"lambda": float(lam), "temperature": float(temperature), "k": int(k), "perplexity": ppl}
            )
    return result


def knn_lm_next_token_probs(model, datastore, token_ids, k=16, lam=0.25, temperature=1.0):
    """The kNN-LM next-token distribution [vocab] after a context of token ids (for generation).

    Example:
        >>> import numpy as np
        >>> from zoo.llm import build_llm
        >>> model = build_llm("causal", "tiny", num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
        >>> keys = np.zeros((3, 16), "float32")
        >>> store = KNNDatastore(keys, np.array([7, 7, 7]), {})
        >>> p = knn_lm_next_token_probs(model, store, [1, 2], k=3, lam=1.0)
        >>> float(p[7]), round(float(p.sum()), 6)
        (1.0, 1.0)
    """
    ids = np.asarray([token_ids], np.int32)
    hidden = model.backbone({"token_ids": ids, "padding_mask": np.ones_like(ids)}, training=False)
    logits = np.asarray(model.backbone.embeddings.logits(hidden), np.float64)[0, -1]
    lm = np.exp(logits - logits.max())
    lm /= lm.sum()
    distances, values = datastore.neighbours(np.asarray(hidden, np.float32)[0, -1:], k)
    return interpolate(lm, knn_distribution(distances, values, len(lm), temperature)[0], lam)
