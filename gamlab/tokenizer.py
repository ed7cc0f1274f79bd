"""Tokenizers: characters, or BPE trained on the training split (the paper's choice).

Both have the same small interface, and both serialise to plain strings and dicts so that
a checkpoint (loaded with weights_only=True) can carry the tokenizer of its run:

    tok.vocab_size           -> int
    tok.encode(text)         -> list[int]
    tok.decode(ids)          -> str
    tok.to_dict()            -> {"kind": ..., ...}   plain data
    tokenizer_from_dict(d)   -> the same tokenizer back

Taught in notebooks/05_showdown.ipynb.
"""

from __future__ import annotations

from .errors import GamlabError

TOKENIZERS = ("char", "bpe")


class CharTokenizer:
    """One token per character seen in the training text; unseen characters map to id 0.

    Id 0 is reserved for unknown characters so that validation text with a stray symbol
    still encodes. It decodes to the visible replacement character "\ufffd", so that a
    sampled id 0 shows in a printed sample instead of being an invisible NUL.
    """

    kind = "char"
    UNKNOWN = "\x00"  # id 0's place in `chars` (kept so saved tokenizers load unchanged)
    SHOWN = "\ufffd"  # what id 0 decodes to

    def __init__(self, chars: str):
        self.chars = chars if chars.startswith(self.UNKNOWN) else self.UNKNOWN + chars
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        return cls("".join(sorted(set(text) - {cls.UNKNOWN})))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        get = self.stoi.get
        return [get(c, 0) for c in text]

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[int(i)] if 0 < int(i) < len(chars) else self.SHOWN for i in ids)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


class BPETokenizer:
    """Byte-pair encoding from Hugging Face `tokenizers`, whitespace pre-tokenizer (as in the paper).

    The whitespace pre-tokenizer splits text into words and punctuation before merging, so
    decoding joins tokens with single spaces: "Mia, ran." comes back as "Mia , ran .".
    Ids round-trip exactly (encode(decode(ids)) == ids).
    """

    kind = "bpe"

    def __init__(self, tokenizer):
        self.tk = tokenizer

    @classmethod
    def train(cls, text: str, vocab_size: int = 10_000) -> BPETokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        # "</w>" marks a word's last piece, so decoding knows where to put the spaces back.
        tk = Tokenizer(models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"))
        tk.pre_tokenizer = pre_tokenizers.Whitespace()
        tk.decoder = decoders.BPEDecoder(suffix="</w>")
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["[UNK]"],
                                      end_of_word_suffix="</w>", show_progress=False)
        lines = text.splitlines()
        tk.train_from_iterator((lines[i:i + 1000] for i in range(0, len(lines), 1000)), trainer=trainer)
        return cls(tk)

    @property
    def vocab_size(self) -> int:
        return self.tk.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        # Line by line: encoding one multi-megabyte string is much slower than a batch of lines.
        lines = text.splitlines()
        ids: list[int] = []
        for enc in self.tk.encode_batch(lines):
            ids.extend(enc.ids)
        return ids

    def decode(self, ids) -> str:
        return self.tk.decode([int(i) for i in ids])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "json": self.tk.to_str()}


def train_tokenizer(kind: str, text: str, vocab_size: int = 10_000):
    """A tokenizer of `kind` ("char" or "bpe") trained on `text` (the training split)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size)
    raise GamlabError(f"Unknown tokenizer {kind!r}; choose one of {', '.join(TOKENIZERS)}.")


def tokenizer_from_dict(data: dict):
    """Rebuild a tokenizer saved with `tok.to_dict()` (for example from a checkpoint)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "char":
        return CharTokenizer(data["chars"])
    if kind == "bpe":
        from tokenizers import Tokenizer

        return BPETokenizer(Tokenizer.from_str(data["json"]))
    raise GamlabError(f"Saved tokenizer has unknown kind {kind!r}; the checkpoint may come from another program.")
