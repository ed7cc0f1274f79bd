"""A run trained through a wrapper (torch.compile's OptimizedModule, DDP, DataParallel) saves the
plain model's weights, and every load path reads a checkpoint whose names carry a wrapper's
prefix (older gamlab, other tools): nothing that can be read is called a mismatch to retrain."""

import contextlib
import io

import pytest
import torch
from torch import nn

from gamlab import GamlabError, ModelConfig, build_model, seed_everything
from gamlab.cli import main
from gamlab.experiments.reproduce import run_folder, saved_tokenizer
from gamlab.training.checkpoint import load_checkpoint, plain_model, plain_state_dict, save_checkpoint
from gamlab.training.train import TrainConfig, Trainer, load_run

V, T, B, STEPS = 24, 12, 4, 6
PREFIXES = ["_orig_mod.", "module.", "module._orig_mod.", "_orig_mod.module."]  # compile, DDP, and both nestings


def _batches(split, step):
    g = torch.Generator().manual_seed(step if split == "train" else 10_000 + step)
    x = torch.randint(0, V, (B, T + 1), generator=g)
    return x[:, :-1], x[:, 1:]


def _model():
    seed_everything(0)
    return build_model("gam", ModelConfig.preset("tiny", vocab_size=V, block_size=T, d_model=16, n_layer=1, n_slots=8))


def _tc():
    return TrainConfig.preset("tiny", steps=STEPS, eval_every=3, eval_batches=1, batch_size=B, checkpoint_every=3)


class CompiledLike(nn.Module):
    """What torch.compile returns, as far as names go: the model kept as `_orig_mod`."""

    def __init__(self, model):
        super().__init__()
        self._orig_mod = model

    def forward(self, *args):
        return self._orig_mod(*args)


def _prefixed(folder, prefix):
    """Rewrite folder's checkpoint as a wrapped model would have saved it."""
    state = load_checkpoint(folder)
    state["model"] = {prefix + k: v for k, v in state["model"].items()}
    state.pop("format"), state.pop("version")
    save_checkpoint(folder, state)
    raw = torch.load(folder / "checkpoint.pt", weights_only=True)["model"]
    assert all(k.startswith(prefix) for k in raw)


@pytest.fixture(scope="module")
def whole():
    trainer = Trainer(_model(), _tc(), _batches, progress=False)
    trainer.fit()
    return trainer


def _equal(a, b):
    a, b = plain_model(a).state_dict(), plain_model(b).state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("wrap", [CompiledLike, nn.DataParallel, lambda m: CompiledLike(nn.DataParallel(m))])
def test_a_wrapped_model_saves_plain_weights_and_resumes_wrapped(wrap, whole, tmp_path):
    first = Trainer(wrap(_model()), _tc(), _batches, out=tmp_path, progress=False)
    first.fit(3)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert list(saved["model"]) == list(_model().state_dict())  # the plain model's names
    second = Trainer(wrap(_model()), _tc(), _batches, out=tmp_path, progress=False)
    assert second.resume() == 3
    second.fit()
    _equal(second.model, whole.model)
    model, _, _ = load_run(tmp_path)  # and the plain model reads it
    _equal(model, whole.model)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_load_path_reads_prefixed_weights(prefix, whole, tmp_path):
    run = tmp_path / "run"
    Trainer(_model(), _tc(), _batches, out=run, progress=False, meta={"tokenizer": {"kind": "char", "chars": "ab"}}).fit(3)
    _prefixed(run, prefix)
    assert list(load_checkpoint(run)["model"]) == list(_model().state_dict())  # load_checkpoint (lesson 06, reproduce)
    model, _, history = load_run(run)  # load_run (lesson 06, gamlab.experiments)
    assert history and isinstance(model, nn.Module)
    for i, wrap in enumerate((lambda m: m, CompiledLike)):  # Trainer.resume, into a plain or a wrapped model
        copy = tmp_path / f"copy{i}"
        copy.mkdir()
        (copy / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes())
        trainer = Trainer(wrap(_model()), _tc(), _batches, out=copy, progress=False,
                          meta={"tokenizer": {"kind": "char", "chars": "ab"}})
        assert trainer.resume() == 3
        trainer.fit()
        _equal(trainer.model, whole.model)
    trainer = Trainer(_model(), _tc(), _batches, out=tmp_path / "other", progress=False,
                      meta={"tokenizer": {"kind": "char", "chars": "ab"}})
    trainer.resume(state=torch.load(run / "checkpoint.pt", weights_only=True))  # a state read by hand
    assert trainer.step == 3


def test_cli_resume_and_reproduce_read_prefixed_weights(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "gam", "--fast", "--no-progress", "--device", "cpu", "--out", str(out)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--steps", "3"]) == 0
    _prefixed(out, "_orig_mod.")
    with contextlib.redirect_stdout(io.StringIO()) as said:
        assert main([*args, "--steps", "4", "--resume"]) == 0
    assert "resumed gam" in said.getvalue()
    folder = run_folder(tmp_path / "repro", "careful", "embedded-gam")  # reproduce's layout
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes((out / "checkpoint.pt").read_bytes())
    _prefixed(folder, "module.")
    assert saved_tokenizer(tmp_path / "repro", "embedded") is not None


def test_weights_that_do_not_fit_say_which_and_never_retrain(tmp_path, whole):
    run = tmp_path / "run"
    Trainer(_model(), _tc(), _batches, out=run, progress=False).fit(3)
    state = load_checkpoint(run)
    state["model"]["blocks.0.extra.weight"] = torch.zeros(2)
    state.pop("format"), state.pop("version")
    save_checkpoint(run, state)
    with pytest.raises(GamlabError) as e:
        load_run(run)
    msg = str(e.value).replace(str(run), "<run>")  # the words, not the folder's name
    assert "1 unexpected (e.g. blocks.0.extra.weight)" in msg and "retrain" not in msg
    trainer = Trainer(_model(), _tc(), _batches, out=run, progress=False)
    with pytest.raises(GamlabError, match="do not fit model 'gam'"):
        trainer.resume()


def test_plain_state_dict_strips_only_a_prefix_every_name_has():
    w = {"module.a": 1, "b": 2}
    assert plain_state_dict(w) == w  # a model whose own submodule is called "module" keeps its names
    assert plain_state_dict({"_orig_mod.module.a": 1}) == {"a": 1}


def test_real_torch_compile_saves_plain_weights(tmp_path, whole):
    """torch.compile itself (its eager backend: Dynamo's wrapper without a C++ build, seconds on a CPU)."""
    compiled = torch.compile(_model(), backend="eager")
    assert type(compiled).__name__ == "OptimizedModule"
    trainer = Trainer(compiled, _tc(), _batches, out=tmp_path, progress=False)
    trainer.fit()
    assert list(load_checkpoint(tmp_path)["model"]) == list(_model().state_dict())
    model, _, _ = load_run(tmp_path)
    _equal(model, trainer.model)
