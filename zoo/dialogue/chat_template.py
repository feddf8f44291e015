"""The chat template: how a conversation becomes the tokens a chat model reads and writes.

Every message is a role header, its content and an end-of-turn token, then a
separator:

    <|user|>\\nWhat is 2+3?</s>\\n<|assistant|>\\n5</s>\\n

The end-of-turn is the tokenizer's end token (`</s>`, id 6 in a zoo vocabulary;
`<|endoftext|>` in an imported GPT-2), inserted as an id rather than tokenized as
text, so generation stops exactly when the model emits it. The headers are plain
text: they need no new vocabulary entries, so any pretrained tokenizer works.
The template is saved beside the model as chat_template.json (and shipped in an
exported SavedModel), so fine-tuning, `zoo chat` and a served model all prompt
the model the same way.

`encode()` also says which tokens the model should learn: the assistant's content
and its end-of-turn weigh 1, everything else (system and user turns, headers,
separators) weighs 0.

Example:
    >>> template = ChatTemplate()
    >>> template.render_text([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    '<|user|>\\nHi</s>\\n<|assistant|>\\nHello</s>\\n'
"""

import dataclasses
import json
import os

import numpy as np

from zoo.data.atomic_files import write_text_atomic

TEMPLATE_FILE = "chat_template.json"
DEFAULT_HEADERS = {"system": "<|system|>\n", "user": "<|user|>\n", "assistant": "<|assistant|>\n"}


@dataclasses.dataclass
class ChatTemplate:
    """Role headers, the end-of-turn token (its text and id) and the separator between turns."""

    headers: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_HEADERS))
    end_of_turn: str = "</s>"
    end_of_turn_id: int = 6
    separator: str = "\n"

    @classmethod
    def for_tokenizer(cls, tokenizer, **overrides):
        """The default template with the tokenizer's own end token as end-of-turn."""
        end_id = getattr(tokenizer, "end_token_id", None)
        if end_id is None:
            raise ValueError("This tokenizer has no end token; a chat template needs one to end each turn.")
        text = tokenizer.id_to_token(int(end_id))
        return cls(end_of_turn=str(text), end_of_turn_id=int(end_id), **overrides)

    def render_text(self, messages, add_generation_prompt=False):
        """The conversation as text (the end-of-turn shown as its token text), for reading and for servers."""
        parts = [self.headers[m["role"]] + m["content"] + self.end_of_turn + self.separator for m in messages]
        if add_generation_prompt:
            parts.append(self.headers["assistant"])
        return "".join(parts)

    def segments(self, messages, add_generation_prompt=False):
        """[(text or id, weight)]: the conversation's pieces in order, weight 1 where an assistant speaks."""
        pieces = []
        for message in messages:
            learn = 1 if message["role"] == "assistant" else 0
            pieces += [
                (self.headers[message["role"]], 0),
                (message["content"], learn),
                (int(self.end_of_turn_id), learn),
                (self.separator, 0),
            ]
        if add_generation_prompt:
            pieces.append((self.headers["assistant"], 0))
        return pieces

    def encode(self, tokenizer, messages, add_generation_prompt=False):
        """(token ids, loss weights) of a conversation, both int32 arrays of one length."""
        pieces = self.segments(messages, add_generation_prompt)
        texts = sorted({p for p, _ in pieces if isinstance(p, str) and p})
        ids_of = dict(zip(texts, tokenize_many(tokenizer, texts)))
        ids, weights = [], []
        for piece, weight in pieces:
            piece_ids = [piece] if isinstance(piece, int) else ids_of.get(piece, [])
            ids += piece_ids
            weights += [weight] * len(piece_ids)
        return np.asarray(ids, "int32"), np.asarray(weights, "int32")

    def to_dict(self):
        return dataclasses.asdict(self)

    def save(self, folder):
        """Write chat_template.json into `folder` (atomically); its path."""
        path = os.path.join(folder, TEMPLATE_FILE)
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load(cls, folder):
        """The template saved in a run folder (or the path of a chat_template.json)."""
        path = folder if str(folder).endswith(".json") else os.path.join(folder, TEMPLATE_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path} not found: this model has no chat template; instruction-tune it first "
                "with `zoo sft --from RUN`."
            )
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown or set(data.get("headers", {})) != set(DEFAULT_HEADERS):
            raise ValueError(f"{path}: not a zoo chat template (fields {sorted(data)}).")
        return cls(**data)


def tokenize_many(tokenizer, texts):
    """Token-id lists of many texts in one tokenizer call."""
    if not texts:
        return []
    out = tokenizer.tokenize(list(texts))
    if hasattr(out, "to_list"):
        out = out.to_list()
    elif hasattr(out, "numpy"):
        out = out.numpy().tolist()
    return [[int(i) for i in np.asarray(row).reshape(-1)] for row in out]
