"""Dense passage embeddings from a zoo language model: the mean-pooled output of its backbone.

A masked LM (BERT) reads a passage in both directions, so the average of its
last hidden states over the real (non-padding) tokens is a usable passage
vector (Reimers & Gurevych 2019 found mean pooling the best of the simple
poolings). Vectors are L2-normalised, so an inner-product index ranks by cosine.
A causal LM's backbone works too (each state then only sees its left context).

`load_run` reads a run folder that `zoo pretrain-mlm` or `zoo pretrain-clm`
wrote (model.keras + tokenizer/).

Example:
    >>> model, tokenizer = load_run("runs/pretrain-mlm-20260101-120000")   # doctest: +SKIP
    >>> Encoder(model, tokenizer).embed_texts(["def f(): pass"]).shape     # doctest: +SKIP
    (1, 64)
"""

from pathlib import Path

import numpy as np

from zoo.retrieval.fingerprints import model_fingerprint, tokenizer_fingerprint


def load_run(path, tokenizer_dir=None):
    """Return (model, tokenizer) from a run folder (model.keras + tokenizer/) or a .keras file.

    Example:
        >>> load_run("/no/such/run")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: /no/such/run does not exist. Give a run folder (runs/<recipe>-<timestamp>/, ...
    """
    from zoo.runs import read_run

    model, tokenizer, _ = read_run(path, tokenizer_dir)
    return model, tokenizer


class Encoder:
    """Turns token-id passages or texts into L2-normalised mean-pooled vectors.

    Example:
        >>> from zoo.llm import build_llm
        >>> from zoo.data.tokenizer import ZooWordPieceTokenizer
        >>> from zoo.data.special_tokens import SPECIAL_TOKENS
        >>> tok = ZooWordPieceTokenizer(vocabulary=list(SPECIAL_TOKENS) + ["cat", "dog"])
        >>> model = build_llm("masked", "tiny", vocab_size=9, num_layers=1, hidden_dim=16, num_heads=2,
        ...                   intermediate_dim=32, compile=False)
        >>> vectors = Encoder(model, tok).embed_texts(["cat dog", "dog"])
        >>> vectors.shape, bool(abs((vectors ** 2).sum(1) - 1).max() < 1e-5)
        ((2, 16), True)
    """

    def __init__(self, model, tokenizer, source=None, batch_size=64):
        from zoo.llm.models.backbone import EncoderBackbone

        self.model = model
        self.backbone = getattr(model, "backbone", model)
        self.tokenizer = tokenizer
        self.source = str(source) if source else None
        self.batch_size = int(batch_size)
        config = self.backbone.llm_config
        self.bidirectional = isinstance(self.backbone, EncoderBackbone)
        self.with_segments = bool(getattr(config, "num_segments", 0)) and self.bidirectional
        self.max_length = int(config.max_length)
        self._fingerprint = None

    @classmethod
    def from_run(cls, path):
        """An Encoder of the model and tokenizer in a run folder (or .keras file next to tokenizer/)."""
        model, tokenizer = load_run(path)
        return cls(model, tokenizer, source=Path(path).resolve())

    @property
    def dim(self):
        return int(self.backbone.llm_config.hidden_dim)

    @property
    def fingerprint(self):
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.model)
        return self._fingerprint

    @property
    def tokenizer_fingerprint(self):
        return tokenizer_fingerprint(self.tokenizer)

    def _frame(self, ids):
        ids = [int(i) for i in ids]
        if self.bidirectional:  # BERT's input shape: [CLS] tokens [SEP]
            ids = [self.tokenizer.cls_token_id, *ids[: self.max_length - 2], self.tokenizer.sep_token_id]
        return ids[: self.max_length] or [self.tokenizer.pad_token_id]

    def embed_ids(self, rows, progress=False):
        """Vectors [len(rows), dim] (float32, unit length) of token-id sequences."""
        rows = [self._frame(r) for r in rows]
        out = np.zeros((len(rows), self.dim), np.float32)
        # Sorted by length, so each batch pads to about its own length, not the longest passage's.
        order = np.argsort([len(r) for r in rows], kind="stable")
        batches = range(0, len(rows), self.batch_size)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding passages", unit="batch")
        for s in batches:
            chosen = order[s : s + self.batch_size]
            width = max(len(rows[i]) for i in chosen)
            ids = np.full((len(chosen), width), self.tokenizer.pad_token_id, np.int32)
            mask = np.zeros((len(chosen), width), np.int32)
            for j, i in enumerate(chosen):
                ids[j, : len(rows[i])] = rows[i]
                mask[j, : len(rows[i])] = 1
            inputs = {"token_ids": ids, "padding_mask": mask}
            if self.with_segments:
                inputs["segment_ids"] = np.zeros_like(ids)
            hidden = np.asarray(self.backbone(inputs, training=False), np.float32)
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[chosen] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def embed_texts(self, texts, progress=False):
        """Vectors of texts (tokenized with the encoder's tokenizer)."""
        from zoo.retrieval.passages import tokenize_texts

        return self.embed_ids(tokenize_texts(list(texts), self.tokenizer), progress=progress)
