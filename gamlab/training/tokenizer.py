"""Tokenizers: characters, or BPE trained on the training split (the paper's choice), and the
paper author's own BPE (PaperBPETokenizer, trained on every split: `gamlab reproduce --recipe paper`).

All have the same small interface, and all serialise to plain strings and dicts so that
a checkpoint (loaded with weights_only=True) can carry the tokenizer of its run:

    tok.vocab_size           -> int
    tok.encode(text)         -> list[int]
    tok.iter_ids(text)       -> the same ids, one at a time (encode_tensor: no list of N ints)
    tok.decode(ids)          -> str
    tok.to_dict()            -> {"kind": ..., ...}   plain data
    tokenizer_from_dict(d)   -> the same tokenizer back

Used in notebooks/04_gam_block.ipynb (CharTokenizer); lessons 5 and 6 get theirs from gamlab.training.data.
"""

from __future__ import annotations

import itertools
import re

from ..errors import GamlabError
from .text import as_text

TOKENIZERS = ("char", "bpe", "bpe-paper")


def training_text(text) -> str:
    """Text a tokenizer can learn from: read by as_text, with something besides whitespace."""
    text = as_text(text, "the training text")
    if not text or text.isspace():
        raise GamlabError("the training text is empty or only whitespace; give the tokenizer text to learn from.")
    return text


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
        return cls("".join(sorted(set(training_text(text)) - {cls.UNKNOWN})))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return list(self.iter_ids(text))

    def iter_ids(self, text: str):
        """The ids of encode(text), one at a time (unknown characters: 0)."""
        return map(self.stoi.get, as_text(text), itertools.repeat(0))

    def decode(self, ids) -> str:
        chars = self.chars
        return "".join(chars[int(i)] if 0 < int(i) < len(chars) else self.SHOWN for i in ids)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


class BPETokenizer:
    """Byte-pair encoding from Hugging Face `tokenizers` that gives back the text it was given.

        decode(encode(text)) == text       for text (read by as_text) made of characters seen in training
        encode(decode(ids)) == ids         for ids that encode produced

    Before merging, a regex (GPT-2's, without its byte mapping) cuts text into pieces that
    keep every character: a word with its leading space (" cat"), a number, a run of
    punctuation, a run of newlines, leftover spaces. Merges stay inside a piece, and the Fuse
    decoder concatenates tokens, so spaces and newlines come back exactly; "Mia, ran." is
    "Mia" "," " ran" ".". A character never seen in training is replaced by "\ufffd" before
    splitting (the unknown token; it is part of the alphabet), so it decodes visibly, as
    CharTokenizer shows its unknown id, and the text around it splits as it will when the
    decoded text is encoded again: "the café" with no "f" or "é" seen comes back
    "the ca\ufffd\ufffd", its spaces intact.

    Tokenizers saved by gamlab before this (whitespace pre-tokenizer, "</w>" word ends) still
    load and decode as they did ("Mia , ran ."), their unknown token shown as "\ufffd".
    """

    kind = "bpe"
    UNKNOWN = "\ufffd"  # the unknown token's text: what an unseen character becomes
    SPLIT = r"\n+| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|[^\S\n]+(?!\S)|[^\S\n]+"

    def __init__(self, tokenizer):
        self.tk = tokenizer
        self.legacy = getattr(tokenizer.model, "unk_token", None) == "[UNK]"  # saved before the lossless version
        unk = tokenizer.token_to_id(getattr(tokenizer.model, "unk_token", None) or "")
        self.unk = unk if unk is not None else 0
        self.alphabet = frozenset(t for t in tokenizer.get_vocab() if len(t) == 1)  # characters seen in training

    @classmethod
    def train(cls, text: str, vocab_size: int = 10_000) -> BPETokenizer:
        from tokenizers import Regex, decoders, pre_tokenizers

        tk = _train_bpe(list(_pieces(training_text(text))), cls.UNKNOWN,
                        pre_tokenizers.Split(Regex(cls.SPLIT), behavior="isolated"), vocab_size,
                        initial_alphabet=[cls.UNKNOWN])
        tk.decoder = decoders.Fuse()  # tokens back to back: the pieces hold their own spaces
        return cls(tk)

    @property
    def vocab_size(self) -> int:
        return self.tk.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Token ids (N,) of text read by as_text (which raises GamlabError for a non-str, NUL, ...)."""
        return list(self.iter_ids(text))

    def iter_ids(self, text: str):
        """The ids of encode(text), one at a time."""
        text = as_text(text)
        unseen = set() if self.legacy else set(text) - self.alphabet
        if unseen:  # each becomes UNKNOWN before splitting (see the class docstring)
            text = re.sub(f"[{''.join(map(re.escape, unseen))}]", self.UNKNOWN, text)
        # In pieces cut where the pre-tokenizer cuts anyway (same ids as one call): encoding one
        # multi-megabyte string is much slower than a batch of short ones.
        return _batched_ids(self.tk, _pieces(text))

    def decode(self, ids) -> str:
        """The text of ids (N,): tokens back to back; an unknown or out-of-range id shows as UNKNOWN."""
        n = self.vocab_size
        ids = [i if 0 <= i < n else self.unk for i in map(int, ids)]  # out of range: shown as unknown
        if self.legacy:  # "[UNK]" was skipped (a special token), so text vanished: show it instead
            return self.tk.decode(ids, skip_special_tokens=False).replace("[UNK]", self.UNKNOWN)
        return self.tk.decode(ids, skip_special_tokens=False)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "json": self.tk.to_str()}


class PaperBPETokenizer:
    """The BPE of the paper author's script (rishiraj/gam, benchmark.py), kept to reproduce its numbers.

    Hugging Face BPE with the Whitespace pre-tokenizer (runs of word characters, runs of
    punctuation; spaces and newlines are dropped), special tokens [UNK] [PAD] [SOS] [EOS]
    (ids 0-3; only [UNK] is ever produced), no end-of-word suffix. `train` takes one text or
    several (the author's: every split, validation and test included, so the vocabulary has
    seen the text it is scored on). Lossy: decode puts a space between tokens ("Mia , ran ."),
    and a character never seen in training becomes [UNK]. Used by gamlab/training/recipes.py.
    """

    kind = "bpe-paper"
    SPECIALS = ("[UNK]", "[PAD]", "[SOS]", "[EOS]")

    def __init__(self, tokenizer):
        self.tk = tokenizer
        self.unk = tokenizer.token_to_id("[UNK]")

    @classmethod
    def train(cls, texts, vocab_size: int = 10_000) -> PaperBPETokenizer:
        """texts: a str, or a list of str (one per split), each checked by training_text."""
        from tokenizers import pre_tokenizers

        texts = [training_text(t) for t in ([texts] if isinstance(texts, str) else texts)]
        lines = [line for t in texts for line in t.split("\n")]
        return cls(_train_bpe(lines, "[UNK]", pre_tokenizers.Whitespace(), vocab_size,
                              special_tokens=list(cls.SPECIALS)))

    @property
    def vocab_size(self) -> int:
        return self.tk.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        """Token ids (N,); line by line (the pre-tokenizer cuts at every newline anyway: same ids)."""
        return list(self.iter_ids(text))

    def iter_ids(self, text: str):
        """The ids of encode(text), one at a time."""
        return _batched_ids(self.tk, (m.group() for m in re.finditer(r"[^\n]+", as_text(text))))

    def decode(self, ids) -> str:
        n = self.vocab_size
        return self.tk.decode([i if 0 <= i < n else self.unk for i in map(int, ids)], skip_special_tokens=False)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "json": self.tk.to_str()}


def _batched_ids(tk, pieces, size: int = 4096):
    """The ids of a Hugging Face tokenizer's encodings of `pieces`, encoded `size` pieces at a
    time: the Encoding objects of a whole corpus at once would take many times its size."""
    batch = getattr(tk, "encode_batch_fast", tk.encode_batch)  # skips offsets, where it exists
    pieces = iter(pieces)
    for group in iter(lambda: list(itertools.islice(pieces, size)), []):
        for enc in batch(group, add_special_tokens=False):
            yield from enc.ids


def _train_bpe(pieces: list[str], unk_token: str, pre_tokenizer, vocab_size: int, **trainer_options):
    """A Hugging Face BPE tokenizer trained on `pieces` (strings, fed 1000 at a time).

    The two BPE tokenizers above differ only in what they pass: the unknown token, the
    pre-tokenizer, and BpeTrainer's options (an initial alphabet, or special tokens).
    """
    from tokenizers import Tokenizer, models, trainers

    tk = Tokenizer(models.BPE(unk_token=unk_token))
    tk.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, **trainer_options)
    tk.train_from_iterator((pieces[i:i + 1000] for i in range(0, len(pieces), 1000)), trainer=trainer)
    return tk


_CUT = 2000  # characters: longer lines are cut at spaces too


def _pieces(text: str):
    """text in pieces cut only where BPETokenizer.SPLIT (and the old whitespace pre-tokenizer)
    cut anyway: after a run of newlines and, in lines over _CUT characters, before a space that
    stands between two non-space characters (the space starts the next word's piece)."""
    for line in re.split(r"(?<=\n)(?!\n)", text):
        start = 0
        while len(line) - start > _CUT:
            cut = line.find(" ", start + _CUT)
            while cut != -1 and (cut + 1 == len(line) or line[cut - 1].isspace() or line[cut + 1].isspace()):
                cut = line.find(" ", cut + 1)
            if cut == -1:
                break
            yield line[start:cut]
            start = cut
        yield line[start:]


def train_tokenizer(kind: str, text: str, vocab_size: int = 10_000):
    """A tokenizer of `kind` ("char", "bpe" or "bpe-paper") trained on `text` (the training split)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size)
    if kind == "bpe-paper":
        return PaperBPETokenizer.train(text, vocab_size)
    raise GamlabError(f"Unknown tokenizer {kind!r}; choose one of {', '.join(TOKENIZERS)}.")


def tokenizer_from_dict(data: dict):
    """Rebuild a tokenizer saved with `tok.to_dict()` (for example from a checkpoint)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "char":
        return CharTokenizer(data["chars"])
    if kind == "bpe":
        from tokenizers import Tokenizer

        return BPETokenizer(Tokenizer.from_str(data["json"]))
    if kind == "bpe-paper":
        from tokenizers import Tokenizer

        return PaperBPETokenizer(Tokenizer.from_str(data["json"]))
    raise GamlabError(f"Saved tokenizer has unknown kind {kind!r}; the checkpoint may come from another program.")


def shared_tokenizer(make):
    """The tokenizer `make()` returns on rank 0, on every rank under torchrun (None stays None);
    for one process simply make().

    Hugging Face's BPE trainer numbers its first tokens in hash-map order, so ranks that each
    trained their own would disagree on token ids: only rank 0 calls `make`, and the others
    rebuild its tokenizer from to_dict(). Used by gamlab.experiments.runs and .reproduce.
    """
    from . import distributed

    tok = make() if distributed.is_main() else None
    if not distributed.is_distributed():
        return tok
    shared = distributed.broadcast(tok.to_dict() if tok is not None else None)
    return tok if distributed.is_main() or shared is None else tokenizer_from_dict(shared)


# Any tokenizer with encode/decode: gamlab's own above, or Hugging Face's, whose encode returns
# an Encoding that holds the token ids in .ids. Used by the explorer (gamlab/inspection/widgets.py).

def encode_idx(tokenizer, text: str) -> list[int]:
    """Token ids (T,) of `text` from any tokenizer (a list, or an Encoding's .ids)."""
    out = tokenizer.encode(text)
    return list(getattr(out, "ids", out))


def encode_tensor(tokenizer, text: str):
    """Token ids (N,) int64 tensor of `text`, filled from the tokenizer's iter_ids without a Python
    list of N ints in between (the list and its ints would take about twice the tensor's memory);
    any other tokenizer through encode_idx. Used by gamlab.training.data.load_data."""
    import numpy as np
    import torch

    if not hasattr(tokenizer, "iter_ids"):
        return torch.tensor(encode_idx(tokenizer, text), dtype=torch.long)
    if isinstance(tokenizer, CharTokenizer):  # one id per character: the array's size is known
        text = as_text(text)
        return torch.from_numpy(np.fromiter(tokenizer.iter_ids(text), dtype=np.int64, count=len(text)))
    return torch.from_numpy(np.fromiter(tokenizer.iter_ids(text), dtype=np.int64))


def token_texts(tokenizer, idx) -> list[str]:
    """The text of each token id in idx (T,) on its own, e.g. for axis labels."""
    return [tokenizer.decode([int(i)]) for i in idx]
