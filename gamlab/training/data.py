"""Corpora, tokenization and batching into (input, target) blocks.

    text (train, val) --tokenizer--> idx (N,) --chunks of T+1--> idx = chunk[:-1], targets = chunk[1:]

Glossary: T = block_size (tokens the model sees), B = batch_size, N = tokens in a split; token
ids are `idx` and the next tokens the model must predict `targets` (docs/naming.md).

Datasets: "embedded" (the project's own stories, gamlab/training/corpus.py, offline), "wikitext2"
and "tinystories" (Hugging Face `datasets`, need the network once), or the path of a text
file or folder of .txt files. Every way in (file, folder, hub rows, a string for a tokenizer)
reads text through gamlab/training/text.py: strict UTF-8, no leading byte-order mark, "\n" line ends,
and one clear sentence naming the file and the fix when a file is empty or not UTF-8.

The training order is a function of (seed, step) only: step s belongs to epoch
s // steps_per_epoch, whose chunk order is a permutation drawn from a generator seeded with
(seed, epoch). A resumed run therefore sees exactly the batches an uninterrupted one does.

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import GamlabError
from ..host_memory import available_memory
from .text import as_text, read_text_file
from .tokenizer import encode_tensor, train_tokenizer

DATASETS = ("embedded", "wikitext2", "tinystories")
OFFLINE_HINT = "use --dataset embedded (the project's own stories, no network needed)"


# ---------------------------------------------------------------- raw text, split in two

def load_texts(dataset: str = "embedded", *, n_stories: int = 6000, tinystories_n: int = 20_000,
               val_fraction: float = 0.1) -> tuple[str, str]:
    """(train_text, val_text) for a dataset name or a path to a text file / folder."""
    if dataset == "embedded":
        from .corpus import is_validation, make_stories, validation_period

        # fixed corpus (seed 0); story i's split depends on i alone, never on n_stories
        period = validation_period(val_fraction)
        if n_stories < period:
            raise GamlabError(f"n_stories={n_stories} holds no validation story (every {period}th story validates); "
                              f"use n_stories >= {period}.")
        stories = make_stories(n_stories, seed=0)
        val = [s for i, s in enumerate(stories) if is_validation(i, val_fraction)]
        train = [s for i, s in enumerate(stories) if not is_validation(i, val_fraction)]
        return "\n\n".join(train) + "\n\n", "\n\n".join(val)
    if dataset == "wikitext2":
        rows = hub_rows("wikitext2")
        return "".join(rows["train"]), "".join(rows["validation"])  # its rows end in "\n" already
    if dataset == "tinystories":
        rows = hub_rows("tinystories", tinystories_n, max(1, tinystories_n // 10))
        return "\n\n".join(rows["train"]), "\n\n".join(rows["validation"])
    return _local_texts(dataset, val_fraction)


# name -> (label in messages, arguments of datasets.load_dataset)
HUB = {"wikitext2": ("WikiText-2", ("wikitext", "wikitext-2-raw-v1")),
       "tinystories": ("TinyStories", ("roneneldan/TinyStories",))}


def hub_rows(dataset: str, n_train: int | None = None, n_val: int | None = None,
             test: bool = False) -> dict[str, list[str]]:
    """{"train": rows, "validation": rows} of a hub dataset, the first n_train / n_val rows
    (None: all). TinyStories is streamed, so only the rows asked for are downloaded; give both counts.
    test=True adds WikiText-2's "test" rows, all of them (the paper author's tokenizer learned from them)."""
    label, args = HUB[dataset]
    if dataset == "tinystories" and None in (n_train, n_val):
        raise ValueError("TinyStories is streamed: give hub_rows both row counts.")

    def fetch(load):
        if dataset == "tinystories":
            ds = load(*args, streaming=True)
            return {split: [row["text"] for row in ds[split].take(n)]
                    for split, n in (("train", n_train), ("validation", n_val))}
        ds = load(*args)
        rows = {"train": ds["train"]["text"][:n_train], "validation": ds["validation"]["text"][:n_val]}
        return {**rows, "test": ds["test"]["text"]} if test else rows

    rows = _hub(fetch, label)
    # Hub rows are user text like any file: the same reading (a leading BOM dropped, "\n" line ends).
    return {split: [as_text(row, f"{label} {split} row {i}") for i, row in enumerate(split_rows)]
            for split, split_rows in rows.items()}


def _hub(fetch, label: str):
    """Run a Hugging Face download; with no network, one clear GamlabError instead of a trace."""
    try:
        import datasets
    except ImportError:  # an optional extra: the embedded corpus and local files never need it
        raise GamlabError(f"{label} needs the `datasets` package: pip install 'gamlab[hub]' (or datasets); "
                          f"or {OFFLINE_HINT}.") from None
    try:
        return fetch(datasets.load_dataset)
    except Exception as exc:  # ConnectionError, OfflineModeIsEnabled, HfHubHTTPError, ...
        raise GamlabError(f"could not download {label} from the Hugging Face hub "
                          f"(no network? {type(exc).__name__}); {OFFLINE_HINT}.") from None


# Folders that tools write beside a user's files: a stale copy of each edited file (JupyterLab's
# .ipynb_checkpoints), macOS zip metadata (__MACOSX/._name, not text), caches, version control,
# package folders full of LICENSE.txt. Any name starting with "." is hidden and skipped too.
TOOL_FOLDERS = frozenset({"__MACOSX", "__pycache__", "node_modules", "site-packages", "$RECYCLE.BIN",
                          "System Volume Information"})


def _tool_folder(folder: str) -> bool:
    name = os.path.basename(folder)
    return (name.startswith(".") or name in TOOL_FOLDERS or name.endswith((".dist-info", ".egg-info"))
            or os.path.isfile(os.path.join(folder, "pyvenv.cfg")))  # a virtual environment


def text_files(folder: str | os.PathLike) -> tuple[list[str], list[str]]:
    """(the .txt files under `folder`, sorted; the hidden files and hidden or tool folders skipped).

    Hidden means a name starting with "."; tool folders are TOOL_FOLDERS, package metadata
    (*.dist-info, *.egg-info) and virtual environments. Skipped folders are named with a
    trailing "/", relative to `folder`, and not entered.
    """
    files, skipped = [], []
    for root, dirs, names in os.walk(folder):
        rel = os.path.relpath(root, folder)
        for d in sorted(dirs):
            if _tool_folder(os.path.join(root, d)):
                dirs.remove(d)
                skipped.append(os.path.normpath(os.path.join(rel, d)) + "/")
        for name in names:
            if name.endswith(".txt"):
                (skipped.append(os.path.normpath(os.path.join(rel, name))) if name.startswith(".")
                 else files.append(os.path.join(root, name)))
    return sorted(f for f in files if os.path.isfile(f)), sorted(skipped)


def _local_texts(path, val_fraction: float) -> tuple[str, str]:
    """A text file, or every .txt file under a folder (in sorted order; hidden files and tool
    folders skipped, text_files), split by lines: the last lines validate; a text of fewer lines
    than 1 / val_fraction (a book without line breaks) is split by characters: the last
    val_fraction of them validate, from a space or line end where one is near. Each file is read by
    text.read_text_file, so a bad one is named in the error. A folder prints what it read."""
    if not isinstance(path, (str, os.PathLike)):
        raise GamlabError(f"dataset must be a name ({', '.join(DATASETS)}) or a path, not a {type(path).__name__}.")
    p, path = Path(path).expanduser(), str(path)
    if not p.exists():
        names = ", ".join(DATASETS)
        raise GamlabError(f"dataset {path!r} is neither a known name ({names}) nor an existing file or folder.")
    files, skipped = text_files(p) if p.is_dir() else ([str(p)], [])
    if not files:
        also = f" outside hidden and tool folders (skipped {', '.join(skipped[:5])})" if skipped else ""
        raise GamlabError(f"folder {path!r} holds no .txt files{also}; point --dataset at a text file or a folder "
                          "of .txt files.")
    if p.is_dir():  # say what was read: a copy left by a tool would otherwise train silently
        also = f" (skipped {len(skipped)} hidden or tool entries: {', '.join(skipped[:5])})" if skipped else ""
        print(f"read {len(files)} .txt file{'s' * (len(files) != 1)} under {path}{also}")
    check_text_fits(sum(os.path.getsize(f) for f in files), path)
    # Every file's lines, each ended by "\n" (text_lines' lines), as one string: no list of lines.
    text = "".join(t if t.endswith("\n") else t + "\n" for t in map(read_text_file, files))
    n_lines = text.count("\n")
    if len(text) - n_lines < 100:
        raise GamlabError(f"{path!r} holds under 100 characters of text; a language model needs more to learn from.")
    if n_lines * val_fraction < 1:  # a few long lines (a book without line breaks): split at a space
        end = int(len(text) * (1 - val_fraction))  # the validation text starts here at the latest
        space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))  # no word cut in two...
        cut = space if space >= 0.9 * end else end - 1  # ...unless there is no space near (e.g. Chinese)
        return text[:cut + 1], text[cut + 1:-1]
    n_val = max(1, int(n_lines * val_fraction))
    cut = len(text) - 1  # the last line's "\n"; going back n_val line ends finds the last training line's
    for _ in range(n_val):
        cut = text.rfind("\n", 0, cut)
    return text[:cut + 1], text[cut + 1:-1]  # the last n_val lines validate (without the final "\n")


# Peak memory of loading text, per byte of the file(s) on disk (measured, gamlab train --dataset FILE
# on 25 MB, see check_text_fits): the text as a str (at most a byte per byte for ASCII, less than a
# byte per byte for other UTF-8), its training and validation copies, and 8 bytes per token id.
BYTES_PER_TEXT_BYTE = 12


def check_text_fits(n_bytes: int, name: str) -> None:
    """Refuse, in one sentence, text of `n_bytes` on disk whose loading would not fit the memory
    left (gamlab.host_memory.available_memory: the machine's, a container's, an address-space limit).

    About BYTES_PER_TEXT_BYTE bytes of memory per byte of text: the str, its two splits, and
    an int64 id per token (a token per character for the char tokenizer). Same policy as the
    model's check (gamlab.experiments.runs.check_fits): refused above 90% of what is free.
    """
    need, free = BYTES_PER_TEXT_BYTE * n_bytes, available_memory()
    if free is not None and need > 0.9 * free:
        raise GamlabError(f"{name!r} holds {n_bytes / 1e6:,.0f} MB of text, which needs about {need / 2**30:.1f} GiB "
                          f"of memory to load and tokenize, but only {free / 2**30:.1f} GiB is free; use a part of it "
                          "(e.g. `head -c 20M FILE > part.txt`) or a machine with more memory.")


# ---------------------------------------------------------------- tokens and batches

@dataclass
class TextData:
    """Token ids of both splits and the batches drawn from them.

    get_batch(split, step) -> (idx, targets), each (B, T) int64: the trainer's batch source (with
    keep_partial, an epoch's last training batch may have fewer rows, as val_batches' last does).
    """

    train: torch.Tensor  # (N_train,) int64
    val: torch.Tensor  # (N_val,) int64
    tokenizer: object
    block_size: int
    batch_size: int
    seed: int = 0
    name: str = "embedded"
    keep_partial: bool = False  # an epoch ends with the leftover, smaller batch (the paper author's loader)
    path: str | None = None  # a local file's or folder's absolute path (name: its basename); None for a named dataset
    _order: tuple | None = field(default=None, init=False, repr=False, compare=False)  # see _shuffle

    def __post_init__(self) -> None:
        T = self.block_size
        for split, idx in (("train", self.train), ("val", self.val)):
            if idx.numel() < T + 1:
                raise GamlabError(f"the {split} split of {self.name!r} has {idx.numel()} tokens, fewer than "
                                  f"block_size + 1 = {T + 1}; use more text or a smaller block size.")

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def chunks(self, split: str) -> torch.Tensor:
        """Non-overlapping blocks of T + 1 tokens: (n_chunks, T + 1)."""
        idx = self.train if split == "train" else self.val  # (N,)
        n = idx.numel() // (self.block_size + 1)
        return idx[: n * (self.block_size + 1)].view(n, self.block_size + 1)

    @property
    def steps_per_epoch(self) -> int:
        """Full batches per epoch; with keep_partial, one more for the leftover chunks (if any)."""
        n, B = self.chunks("train").size(0), self.batch_size
        return max(1, -(-n // B) if self.keep_partial else n // B)

    def get_batch(self, split: str = "train", step: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Training batch number `step` (a function of seed and step), or validation batch `step`.

        Returns idx, targets: (B, T) int64, targets shifted one token ahead of idx.
        """
        chunks = self.chunks(split)
        if split == "train":
            epoch, i = divmod(step, self.steps_per_epoch)
            order = self._shuffle(epoch, chunks.size(0))
            rows = chunks[order[i * self.batch_size:(i + 1) * self.batch_size]]
        else:
            n = chunks.size(0)
            rows = chunks[[(step * self.batch_size + j) % n for j in range(min(self.batch_size, n))]]
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()

    def _shuffle(self, epoch: int, n: int) -> torch.Tensor:
        """The order of the n training chunks in this epoch, a function of (seed, epoch) only;
        kept for the epoch's steps instead of being drawn again at each one."""
        if self._order is None or self._order[0] != (epoch, n):
            # reduced into torch's seed range (a no-op for seeds below 2**32, gamlab.runtime.SEED_LIMIT)
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)
            self._order = ((epoch, n), torch.randperm(n, generator=g))
        return self._order[1]

    def val_batches(self, max_batches: int | None = None):
        """The whole validation split in order (or its first `max_batches` batches)."""
        chunks = self.chunks("val")
        n = -(-chunks.size(0) // self.batch_size)
        for b in range(n if max_batches is None else min(n, max_batches)):
            rows = chunks[b * self.batch_size:(b + 1) * self.batch_size]
            yield rows[:, :-1].contiguous(), rows[:, 1:].contiguous()

    def unigram_loss(self) -> float:
        """unigram_loss(train, val): the baseline this data's models must beat."""
        return unigram_loss(self.train, self.val, self.vocab_size)


def unigram_loss(train_idx: torch.Tensor, val_idx: torch.Tensor, vocab_size: int) -> float:
    """Cross-entropy (nats/token) on val_idx of a model that ignores context.

    train_idx, val_idx: (N,) token ids. Token frequencies come from train_idx (add-one
    smoothed): the baseline a language model must beat to show that it learned anything
    beyond letter counts.
    """
    counts = torch.bincount(train_idx, minlength=vocab_size).double() + 1.0
    logp = (counts / counts.sum()).log()
    return float(-logp[val_idx].mean())


def load_data(dataset: str = "embedded", *, tokenizer="char", block_size: int = 128, batch_size: int = 32,
              seed: int = 0, vocab_size: int = 10_000, n_stories: int = 6000, tinystories_n: int = 20_000,
              max_tokens: int | None = None) -> TextData:
    """Text -> tokenizer (trained on the training split, or the one given) -> TextData.

    tokenizer: "char", "bpe" (vocab_size merges target) or an existing tokenizer object (a
    resumed run passes the one saved in its checkpoint). max_tokens crops the training split.
    """
    try:
        train_text, val_text = load_texts(dataset, n_stories=n_stories, tinystories_n=tinystories_n)
        tok = train_tokenizer(tokenizer, train_text, vocab_size) if isinstance(tokenizer, str) else tokenizer
        train = encode_tensor(tok, train_text)  # (N_train,) int64, no list of N ints in between
        del train_text  # the ids replace it
        val = encode_tensor(tok, val_text)
    except MemoryError:  # what check_text_fits could not foresee (a limit it cannot read)
        raise GamlabError(f"ran out of memory loading and tokenizing {dataset!r}; use a smaller part of the text "
                          "or a machine with more memory.") from None
    if max_tokens is not None:
        train = train[:max_tokens]
    if dataset in DATASETS:
        return TextData(train, val, tok, block_size, batch_size, seed, dataset)
    name = os.path.basename(os.path.normpath(dataset))  # as runs before dataset paths saved it: resumes compare it
    path = os.path.abspath(os.path.expanduser(dataset))  # saved with a run, so that it can be read again from anywhere
    return TextData(train, val, tok, block_size, batch_size, seed, name, path=path)


def run_dataset(meta: dict) -> str:
    """What to pass to load_texts / load_data to read a run's text again: its dataset's name, or
    the path of the local file or folder it trained on.

    meta: a checkpoint's fields (gamlab.training.checkpoint.load_checkpoint, gamlab.training.run_folder.run_meta):
    "dataset" (the name shown, a file's basename) and, for a local file, "dataset_path" (its
    absolute path). Raises GamlabError when that file is no longer where the run found it.
    """
    name, path = meta.get("dataset", "embedded"), meta.get("dataset_path")
    if path is not None:
        if not Path(path).exists():
            raise GamlabError(f"the run trained on the local text {name!r}, which is no longer at {path}; "
                              "put it back there, or pass its new path to load_texts / load_data yourself.")
        return path
    if name in DATASETS or Path(name).exists():  # runs saved before dataset_path kept only the basename
        return name
    raise GamlabError(f"the run's dataset {name!r} is neither a dataset name ({', '.join(DATASETS)}) nor a file or "
                      "folder here (runs before gamlab saved dataset paths kept only the name); pass the text's "
                      "path to load_texts / load_data yourself.")
