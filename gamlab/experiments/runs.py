"""The run layer: what every experiment and lesson goes through to set up a training run.

    preset = PRESETS["tiny"]                                  # model + training + data, defined once
    tc = train_config(preset, steps=200, lr=2e-3)              # its TrainConfig, with checked changes
    data = load_run_data(preset, tc, "embedded")               # text -> tokenizer -> TextData
    trainer = make_trainer("gam", model_config(preset, data.vocab_size), data, tc, out="runs/gam")
    trainer.fit()

    run = trained_model("gam", preset, out="runs/inside")     # or all of it in one call: a saved
    run.model, run.data, run.history                           # run that matches, else trained here

and, for a run folder: out_folder(path) creates it and proves it writable before any work,
claimed_folder(path) also locks it for one writer (the command line claims every --out); open_run_folder(out,
name, resume) says whether the folder is new, a run to resume, or another run's, in one
sentence each; gamlab.training.run_folder.load_run(out) rebuilds a finished run.

`gamlab compare`, `gamlab train` and `gamlab reproduce` use these pieces (their command-line
options map onto the arguments here); nothing here reads a command line.

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..config import ModelConfig
from ..errors import GamlabError
from ..host_memory import available_memory
from ..inspection.text import wrap
from ..model import budget_knob, build_model, shapes_only
from ..runtime import eval_mode, pick_device, seed_everything
from ..training import distributed
from ..training.checkpoint import checkpoint_path, load_checkpoint
from ..training.files import FolderLock, writable_folder
from ..training.memory_estimate import estimate_train_memory
from ..training.run_folder import load_run, run_meta
from ..training.train import Trainer
from ..training.train_config import TrainConfig


@dataclass(frozen=True)
class RunPreset:
    """One named run: the model, its training and its data, defined once. The presets in
    PRESETS are gamlab's one preset vocabulary: `--preset NAME` in every command and the
    lessons' presets mean these (ModelConfig.preset and TrainConfig.preset are their ingredients).

    model: the ModelConfig, whose vocab_size the run replaces by its tokenizer's (model_config);
    train: the TrainConfig; data: keyword arguments of gamlab.training.data.load_data (tokenizer
    kind, BPE target size, stories of the embedded corpus).
    """

    name: str
    model: ModelConfig
    train: TrainConfig
    data: dict = field(default_factory=dict)


# "tiny" is the CPU default: a block of 512 characters covers a whole story (334-543
# characters: its hero, pet and treasure come back 300+ characters after they are named), so
# models that can look that far back have something to find; 2 layers of width 64, 300 steps
# of 4 x 512 characters (2,048 tokens a step), so that `make run` (three models, one seed, and
# the install) fits 3 minutes on 2 CPU cores. "small": the same block on a GPU. "paper": the
# paper's model and training (DESIGN.md). "fast": seconds, for CI and tests (the numbers mean
# little); 2 layers, so that lesson 06's explorer and every per-layer view have layers to step through. To add a preset, add one entry here (tests/experiments/test_runs.py checks every one).
PRESETS: dict[str, RunPreset] = {p.name: p for p in (
    RunPreset("tiny", ModelConfig.preset("tiny", block_size=512, n_slots=64, d_state=8),
              TrainConfig.preset("tiny", steps=300, eval_every=30, eval_batches=4, batch_size=4),
              dict(tokenizer="char", n_stories=2000)),
    RunPreset("small", ModelConfig.preset("small", block_size=512), TrainConfig.preset("small", steps=1000, batch_size=8),
              dict(tokenizer="char", n_stories=6000)),
    RunPreset("paper", ModelConfig.preset("paper"), TrainConfig.preset("paper"),
              dict(tokenizer="bpe", vocab_size=10_000, n_stories=6000)),
    RunPreset("fast", ModelConfig.preset("tiny", block_size=32, d_model=32, n_layer=2, n_slots=32, d_state=4, n_head=2),
              TrainConfig.preset("tiny", steps=12, eval_every=6, eval_batches=2, batch_size=8, warmup_steps=2),
              dict(tokenizer="char", n_stories=150)),
)}


# ---------------------------------------------------------------- configurations

def train_config(preset: RunPreset, *, steps: int | None = None, epochs: float | None = None,
                 batch_size: int | None = None, lr: float | None = None, seed: int = 0, device: str = "auto",
                 checkpoint_every: int | None = None, precision: str = "auto") -> TrainConfig:
    """The preset's TrainConfig with the changes given (None: the preset's); GamlabError for a
    number that is not positive, named as the command-line option that sets it, and for a
    precision other than auto, bf16, fp16 or fp32 (gamlab.runtime.pick_precision)."""
    for name, value in (("steps", steps), ("epochs", epochs), ("batch_size", batch_size), ("lr", lr),
                        ("checkpoint_every", checkpoint_every)):
        if value is not None and not value > 0:
            raise GamlabError(f"--{name.replace('_', '-')} must be positive, got {value}.")
    changes = dict(seed=seed, device=device, checkpoint_every=checkpoint_every,
                   precision=precision)
    if epochs is not None:
        changes["steps"], changes["epochs"] = None, epochs
    changes.update({k: v for k, v in (("steps", steps), ("batch_size", batch_size), ("lr", lr)) if v is not None})
    return preset.train.replace(**changes)


def model_config(preset: RunPreset, vocab_size: int) -> ModelConfig:
    """The preset's model for a tokenizer of `vocab_size` tokens (TextData.vocab_size)."""
    return preset.model.replace(vocab_size=vocab_size)


def race_configs(names, preset: RunPreset, vocab_size: int) -> dict[str, ModelConfig]:
    """{model name: the ModelConfig it trains with on `preset`}: the preset's model, and for a
    model with a parameter-budget knob the knob matched to GAM's count (matched_config). The
    models that `gamlab compare` trains and `gamlab info` counts."""
    base = model_config(preset, vocab_size)
    target = shapes_only("gam", base).num_params() if any(budget_knob(n) for n in names) else None
    return {name: matched_config(name, base, target) for name in names}


def matched_config(name: str, config: ModelConfig, target: int | None) -> ModelConfig:
    """The model's parameter-budget knob (its block's `budget_knob`, e.g. Mamba's expand) set
    to the value 1..8 whose parameter count is closest to `target` (GAM's); the config as it
    is for a block without a knob, or without a target."""
    knob = budget_knob(name)
    if target is None or knob is None:
        return config
    counts = {e: shapes_only(name, config.replace(**{knob: e})).num_params() for e in range(1, 9)}
    return config.replace(**{knob: min(counts, key=lambda e: abs(counts[e] - target))})


def guess_vocab(preset: RunPreset, tokenizer: str | None = None) -> int:
    """The vocabulary size before any tokenizer exists (for the memory check): BPE's target, or 256."""
    kind = tokenizer or preset.data.get("tokenizer", "char")
    return preset.data.get("vocab_size", 10_000) if kind == "bpe" else 256


def check_fits(model, batch_size: int, device: torch.device, preset: str) -> None:
    """Refuse, in one sentence, a preset whose training would not fit the device's memory (a
    container's limit included: gamlab.host_memory.available_memory)."""
    need, free = estimate_train_memory(model, batch_size), available_memory(device)
    if free is not None and need > 0.9 * free:
        raise GamlabError(f"preset {preset!r} with batch size {batch_size} needs about {need / 2**30:.1f} GiB to train "
                          f"{model.name} on {device}, but only {free / 2**30:.1f} GiB is free; "
                          "use a smaller --preset or --batch-size.")


# ---------------------------------------------------------------- data, model, trainer

def load_run_data(preset: RunPreset, tc, dataset: str = "embedded", tokenizer=None):
    """The run's TextData. tokenizer: a kind ("char", "bpe"), a tokenizer object (a resumed run's,
    restored from its checkpoint), or None (the preset's kind, trained on the training split)."""
    from ..training.data import load_data
    from ..training.tokenizer import shared_tokenizer

    kwargs = dict(preset.data)
    if tokenizer is not None:
        kwargs["tokenizer"] = tokenizer
    def load():
        return load_data(dataset, block_size=preset.model.block_size, batch_size=tc.batch_size, seed=tc.seed,
                         **kwargs)

    if not isinstance(kwargs["tokenizer"], str) or not distributed.is_distributed():
        return load()
    # Under torchrun rank 0 trains the tokenizer as it loads; the other ranks load with its copy.
    data = load() if distributed.is_main() else None
    kwargs["tokenizer"] = shared_tokenizer(lambda: data.tokenizer)
    return data or load()


def make_trainer(name: str, config: ModelConfig, data, tc, *, out=None, progress: bool = True, on_eval=None,
                 init: str = "careful"):
    """Join torchrun's process group (a no-op for one process), seed, build model `name` with
    `config` (init: how its embeddings start, gamlab.training.recipes), and a Trainer on `data` whose
    checkpoint meta (gamlab.training.run_folder.run_meta) holds everything a resume compares. The seed here
    draws the initial weights; fit() seeds again when the run starts, for the dropout masks."""
    distributed.setup(pick_device(tc.device))  # before anything a rank computes with the others
    seed_everything(tc.seed)
    model = build_model(name, config, init=init)
    return Trainer(model, tc, data.get_batch, val_batches=data.val_batches, out=out,
                   steps_per_epoch=data.steps_per_epoch, progress=progress, on_eval=on_eval,
                   meta=run_meta(model, data))


@dataclass
class TrainedRun:
    """trained_model's answer: a trained model (eval mode), the run's data (its tokenizer
    included), its history, and where it came from; str() says which run it is."""

    model: torch.nn.Module
    data: object  # TextData, encoded with the run's tokenizer
    history: list[dict]
    folder: Path
    preset: str
    lr: float
    trained_here: bool  # False: loaded from a saved run

    @property
    def tokenizer(self):
        return self.data.tokenizer

    def __str__(self) -> str:
        last = self.history[-1] if self.history else {}
        return (f"{'trained' if self.trained_here else 'loaded'} {shown_path(self.folder)}: {self.model.name}, "
                f"{self.model.num_params():,} parameters, {last.get('step', 0)} steps of preset {self.preset!r} "
                f"at lr {self.lr:g} on {self.data.name} ({self.data.tokenizer.kind} tokens, vocabulary "
                f"{self.data.vocab_size})" + (f", val loss {last['val_loss']:.3f}" if "val_loss" in last else ""))


def shown_path(path: str | Path) -> str:
    """`path` as a lesson prints it: a file inside the gamlab package from the package's name on
    (gamlab/experiments/small_gam.pt), so that a pre-run copy shows no folder of the machine that
    ran it; any other path as given (a run folder is given relative to the notebook)."""
    package = Path(__file__).resolve().parents[1]
    try:
        return str(Path(package.name) / Path(path).resolve().relative_to(package))
    except ValueError:
        return str(path)


def trained_model(name: str, preset: RunPreset, dataset: str = "embedded", *, out, look_in=(), device: str = "auto",
                  progress: bool = True, log=print) -> TrainedRun:
    """Model `name` trained as `preset` says on `dataset`, in one call: loaded from the first of
    the folders `look_in`, then `out`, that holds a finished run of it, or trained into `out`.

    A saved run counts when its model, configuration, tokenizer and data (their digest) are the
    preset's and its budget (steps or epochs, batch size) too; its learning rate and seed may
    differ, so a race's run at its tuned rate (`gamlab compare --out`, lesson 05) counts. A folder
    of `look_in` that holds another run is passed over with one logged sentence; `out` holding
    another run raises GamlabError (training there would replace it), and an unfinished run of
    this preset there is resumed. Used in notebooks/06_inside_gam.ipynb.
    """
    tc = train_config(preset, device=device)
    data = load_run_data(preset, tc, dataset)
    config = model_config(preset, data.vocab_size)
    wanted = run_meta(shapes_only(name, config), data)
    total = tc.total_steps(data.steps_per_epoch)
    out = Path(out)  # made (and proved writable) only when a run is trained there
    for folder in [Path(f) for f in look_in] + [out]:
        if not checkpoint_path(folder).is_file():
            continue
        state = load_checkpoint(folder)
        why = _other_run(state, wanted, tc, total)
        if why is None:
            model, _, history = load_run(folder, device=pick_device(device))
            return TrainedRun(model, data, history, folder, preset.name, state["train_config"]["lr"], False)
        if folder != out:
            log(f"not using {folder}: it holds {why}.")
        elif not why.startswith("an unfinished"):
            raise GamlabError(f"{out} holds {why}; choose another folder for preset {preset.name!r} "
                              "or delete that run.")
    trainer = make_trainer(name, config, data, tc, out=out_folder(out), progress=progress)
    if checkpoint_path(out).is_file():
        log(f"resuming the unfinished run in {out} at step {trainer.resume()} of {total}")
    trainer.fit()
    return TrainedRun(trainer.model.eval(), data, trainer.history, out, preset.name, tc.lr, True)


def _other_run(state: dict, wanted: dict, tc: TrainConfig, total: int) -> str | None:
    """Why a saved run (its checkpoint `state`) is not the run asked for, as the end of "it
    holds ..."; None when it is that run, finished. wanted: run_meta of the run asked for."""
    if state["model_name"] != wanted["model_name"]:
        return f"model {state['model_name']!r}, not {wanted['model_name']!r}"
    for key, what in (("dataset", "other data"), ("tokenizer", "another tokenizer"),
                      ("data_digest", "other text under the same dataset name"),
                      ("model_config", "a different model configuration")):
        if state.get(key) != wanted[key]:
            return f"a run on {what}" if key != "model_config" else what
    saved = state.get("train_config") or {}
    for key in ("steps", "epochs", "batch_size"):
        if saved.get(key) != getattr(tc, key) and not (key == "epochs" and tc.steps is not None):
            return f"a run of {key.replace('_', ' ')} {saved.get(key)}, not the preset's {getattr(tc, key)}"
    if state["step"] < total:
        return f"an unfinished run (step {state['step']} of {total})"
    return None


def check_learned(name: str, loss: float, what: str, bar: float, dataset: str) -> None:
    """Check that `name`'s validation loss (nats/token) is below a baseline's (`what`, loss `bar`).

    On the embedded stories it must be: an AssertionError otherwise. On any other text (the
    student's own) it is said instead, with both numbers, and the lesson goes on: a small text
    (learned by heart) or one without patterns may not allow it. Used by lessons 5 and 6."""
    if dataset == "embedded":
        assert loss < bar, f"{name} is no better than {what}"
    elif loss >= bar:
        print(wrap(f"{name} is no better than {what} ({loss:.3f} against {bar:.3f}): on this text, at this "
                   "budget, it has not learned (more text or more steps may help)"))


STORY_PROMPT = "Once upon a time"  # how the embedded stories and TinyStories begin


def sample_prompt(data) -> str:
    """The prompt a race's samples continue (data: a TextData): the stories' opening where the
    data's tokenizer knows each of its characters, else the first words (at most four, of the
    first 32 tokens) of the validation text: on a text in another script the opening's letters
    are unknown tokens, decoded as "\ufffd", and the samples would continue noise."""
    tokenizer = data.tokenizer
    ids = tokenizer.encode(STORY_PROMPT)
    if "\ufffd" not in tokenizer.decode(list(getattr(ids, "ids", ids))):
        return STORY_PROMPT
    text = tokenizer.decode(data.val[:32].tolist())
    return " ".join(text.split()[:4]) or text


def sample(model, tokenizer, prompt: str = STORY_PROMPT, n: int = 160, seed: int = 0) -> str:
    """A short continuation of `prompt` (temperature 0.8), for a first look at what was learned.

    Returns the prompt's decoded tokens followed by n sampled ones. Raises GamlabError when the
    prompt gives no tokens ("" or, with a BPE tokenizer, only whitespace): there is nothing to
    continue from, so give at least one token. Used in notebooks/05_showdown.ipynb.
    """
    device = next(model.parameters()).device
    out = tokenizer.encode(prompt)
    ids = list(getattr(out, "ids", out))  # a Hugging Face Encoding keeps its ids in .ids
    if not ids:
        raise GamlabError(f"the prompt is empty; give at least one token (the prompt {prompt!r} "
                          "gave none after tokenizing).")
    idx = torch.tensor([ids], dtype=torch.long, device=device)
    g = torch.Generator(device=device).manual_seed(seed)
    with eval_mode(model):
        out = model.generate(idx, n, temperature=0.8, generator=g)
    return tokenizer.decode(out[0].tolist())


# ---------------------------------------------------------------- the run folder

def out_folder(path: str | Path, need_bytes: int = 0) -> Path:
    """The --out folder of a run, created and proved writable before any work (refused in one
    sentence: a file in the way, a read-only folder, no space left, or less than `need_bytes`
    free; gamlab.training.files.writable_folder)."""
    return writable_folder(path, "--out", need_bytes)


@contextmanager
def claimed_folder(path: str | Path | None):
    """`with claimed_folder(args.out) as out:` a command's --out, created, proved writable and
    locked (a second writer is refused, gamlab.training.files.FolderLock) for as long as the block
    runs; under torchrun rank 0 holds the lock for the run. If the block fails, the folders this
    call created are removed again while empty, so a refused command leaves nothing behind.
    path None: nothing to claim (yields None)."""
    if path is None:
        yield None
        return
    made = [p for p in [Path(path), *Path(path).parents] if not p.exists()]  # deepest first
    done = False
    try:
        out = out_folder(path)
        with FolderLock(out) if distributed.is_main() else nullcontext():
            yield out
        done = True
    finally:
        for folder in made if not done else ():
            try:
                folder.rmdir()
            except OSError:  # not empty (the run wrote something), or gone
                break


def checkpoint_bytes(model) -> int:
    """About the size of a training checkpoint of `model`: the weights and AdamW's two moments
    (float32), plus a little for the rest."""
    return 3 * 4 * model.num_params() + 2**20


def open_run_folder(out: Path, model_name: str, resume: bool) -> dict | None:
    """The checkpoint to resume (resume=True), or None for a new run; one sentence when the
    folder holds no checkpoint to resume, another run's model, or a run that --resume should
    continue. Whether the saved settings match is checked by checkpoint.check_matches."""
    if resume:
        return load_checkpoint(out, model_name=model_name)
    if checkpoint_path(out).is_file():
        raise GamlabError(f"{out} already holds a checkpoint; add --resume to continue it, or choose another --out.")
    return None
