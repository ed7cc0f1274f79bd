"""Training: loss goes down for every model, exact resume, checkpoints refused clearly, NaN stops."""

import math

import pytest
import torch

from gamlab import GamlabError, ModelConfig, build_model, seed_everything
from gamlab.training.checkpoint import load_checkpoint, save_checkpoint
from gamlab.training.data import load_data
from gamlab.training.train import (
    TrainConfig,
    Trainer,
    TrainingDiverged,
    evaluate,
    load_run,
    make_optimizer,
    make_scheduler,
)


@pytest.fixture(scope="module")
def data():
    return load_data(n_stories=300, block_size=32, batch_size=8, seed=1)


def _model(name, data, **changes):
    seed_everything(0)
    cfg = ModelConfig.preset("tiny", vocab_size=data.vocab_size, block_size=32, **changes)
    return build_model(name, cfg)


def _key(history):
    return [(h["step"], h["train_loss"], h["val_loss"], h["lr"]) for h in history]


@pytest.mark.parametrize("name", ["gam", "transformer", "mamba"])
def test_a_few_steps_lower_the_loss(name, data):
    model = _model(name, data)
    val = list(data.val_batches(4))
    before = evaluate(model, val)
    tc = TrainConfig.preset("tiny", steps=30, eval_every=10, eval_batches=2, batch_size=data.batch_size)
    history = Trainer(model, tc, data.get_batch, progress=False).fit()
    after = evaluate(model, val)
    assert after < before - 0.5, (before, after)
    assert [h["step"] for h in history] == [10, 20, 30]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert all(h["tokens_per_s"] > 0 and h["elapsed"] > 0 for h in history)


@pytest.mark.parametrize("name", ["gam", "mamba"])
def test_stop_and_resume_equals_an_uninterrupted_run(name, data, tmp_path):
    tc = TrainConfig.preset("tiny", steps=16, eval_every=4, checkpoint_every=6, eval_batches=2, batch_size=data.batch_size)
    meta = {"tokenizer": data.tokenizer.to_dict()}
    whole = Trainer(_model(name, data, dropout=0.1), tc, data.get_batch, out=tmp_path / "a", meta=meta, progress=False)
    whole.fit()
    first = Trainer(_model(name, data, dropout=0.1), tc, data.get_batch, out=tmp_path / "b", meta=meta, progress=False)
    first.fit(9)  # "killed" after step 9: the last checkpoint is step 6
    assert load_checkpoint(tmp_path / "b")["step"] == 6
    torch.manual_seed(1234)  # whatever happened to the RNG in between must not matter
    second = Trainer(_model(name, data, dropout=0.1), tc, data.get_batch, out=tmp_path / "b", meta=meta, progress=False)
    assert second.resume() == 6
    second.fit()
    assert _key(second.history) == _key(whole.history)
    for p, q in zip(whole.model.parameters(), second.model.parameters()):
        assert torch.equal(p, q)


def test_iterable_source_and_ignored_positions():
    """A synthetic task scores only some positions: y == -100 elsewhere."""
    seed_everything(0)
    model = build_model("gam", ModelConfig.preset("tiny", vocab_size=16, block_size=8))
    g = torch.Generator().manual_seed(0)

    def batches():
        while True:
            x = torch.randint(1, 16, (8, 8), generator=g)
            y = torch.full_like(x, -100)
            y[:, -1] = x[:, 0]  # recall the first token at the last position
            yield x, y
    val = [next(batches()) for _ in range(2)]
    tc = TrainConfig.preset("tiny", steps=5, eval_every=5)
    history = Trainer(model, tc, batches(), val_batches=val, progress=False).fit()
    assert len(history) == 1 and math.isfinite(history[0]["val_loss"])
    with pytest.raises(GamlabError, match="pass val_batches"):
        Trainer(model, tc, batches(), progress=False).fit()


def test_warmup_then_cosine():
    opt = make_optimizer(torch.nn.Linear(2, 2), lr=1.0)
    sched = make_scheduler(opt, warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    lrs = []
    for _ in range(110):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.55, abs=0.02) and lrs[-1] == pytest.approx(0.1, abs=0.01)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]  # weight decays, bias does not
    assert opt.param_groups[0]["params"][0].dim() == 2


def test_checkpoint_refuses_missing_truncated_corrupt_and_foreign(data, tmp_path):
    tc = TrainConfig.preset("tiny", steps=2, eval_every=2, eval_batches=1, batch_size=data.batch_size)
    Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False,
            meta={"tokenizer": data.tokenizer.to_dict()}).fit()
    path = tmp_path / "checkpoint.pt"
    assert load_checkpoint(tmp_path)["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # the temporary file is gone
    with pytest.raises(GamlabError, match="no checkpoint"):
        load_checkpoint(tmp_path / "elsewhere")
    with pytest.raises(GamlabError, match="holds model 'gam', not 'mamba'"):
        load_checkpoint(tmp_path, model_name="mamba")
    with pytest.raises(GamlabError, match="different model configuration"):
        Trainer(_model("gam", data, d_model=32), tc, data.get_batch, out=tmp_path, progress=False).resume()
    model, tok, history = load_run(tmp_path)
    assert model.name == "gam" and tok.decode(tok.encode("Mia")) == "Mia" and history[-1]["step"] == 2
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(GamlabError, match="truncated or corrupt"):
        load_checkpoint(tmp_path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(GamlabError, match="truncated or corrupt"):
        load_run(tmp_path)
    save_checkpoint(path, {"hello": torch.zeros(1)})
    with pytest.raises(GamlabError, match="not a gamlab checkpoint"):
        load_checkpoint(path)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
    tc = TrainConfig.preset("tiny", steps=10, eval_every=5, checkpoint_every=2, eval_batches=1, batch_size=data.batch_size)
    trainer = Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False)
    trainer.fit(4)
    with torch.no_grad():
        trainer.model.norm_f.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"became nan at step 5; the last good checkpoint \(step 4\)"):
        trainer.fit()
    assert load_checkpoint(tmp_path)["step"] == 4


def test_loss_curves_figure_draws_every_history():
    from gamlab.inspection.plots import loss_curves

    h = [{"step": 10, "train_loss": 3.0, "val_loss": 3.1}, {"step": 20, "train_loss": 2.0, "val_loss": 2.2}]
    fig = loss_curves({"gam": h, "mamba": h}, unigram=3.0)
    assert [t.name for t in fig.data] == ["gam validation", "gam training", "mamba validation", "mamba training"]
    assert list(fig.data[0].y) == [3.1, 2.2] and list(fig.data[3].x) == [10, 20]
    assert fig.layout.shapes[0].y0 == 3.0  # the unigram baseline


def test_a_data_batch_size_that_disagrees_with_the_config_is_refused(data):
    tc = TrainConfig.preset("tiny", steps=2, batch_size=2 * data.batch_size)
    with pytest.raises(GamlabError, match=f"batches of {data.batch_size} rows but TrainConfig.batch_size is {2 * data.batch_size}"):
        Trainer(_model("gam", data), tc, data.get_batch, progress=False)


def test_the_train_shortcut_takes_the_data_batch_size(data, monkeypatch):
    from gamlab.training.train import train

    assert TrainConfig.preset("tiny").batch_size != data.batch_size  # the case the shortcut must handle
    monkeypatch.setattr(Trainer, "fit", lambda self: [self.config.batch_size])  # no need to train here
    assert train(_model("gam", data), data.get_batch, progress=False) == [data.batch_size]


def test_building_a_trainer_leaves_the_global_generators_alone_and_fit_seeds_a_new_run(data):
    """No hidden reseeding in the constructor; a new run draws its dropout from config.seed."""
    tc = TrainConfig.preset("tiny", steps=3, eval_every=3, eval_batches=1, batch_size=data.batch_size)

    def run(seed, disturb):
        model = _model("gam", data, dropout=0.1)
        torch.manual_seed(disturb)
        before = torch.get_rng_state()
        trainer = Trainer(model, tc.replace(seed=seed), data.get_batch, progress=False)
        assert torch.equal(torch.get_rng_state(), before)  # the constructor drew and seeded nothing
        torch.manual_seed(disturb + 1)  # whatever happens before fit must not matter
        return _key(trainer.fit())

    assert run(0, 11) == run(0, 22)
    assert run(0, 11) != run(1, 11)  # the seed is config.seed, applied by fit


def test_a_trainer_under_torchrun_needs_the_process_group_joined_first(data, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    tc = TrainConfig.preset("tiny", steps=2, batch_size=data.batch_size)
    with pytest.raises(GamlabError, match=r"not joined the process group; call gamlab.training.distributed.setup"):
        Trainer(_model("gam", data), tc, data.get_batch, progress=False)


def test_the_checkpoint_keeps_its_keys(data, tmp_path):
    """The collaborators write the keys the format always had, and the two the precision added
    (the fp16 loss scaler's state, {} in fp32, and its skipped steps): old checkpoints without
    them still resume (tests/training/test_precision.py)."""
    tc = TrainConfig.preset("tiny", steps=2, eval_every=2, eval_batches=1, batch_size=data.batch_size)
    Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False,
            meta={"tokenizer": data.tokenizer.to_dict()}).fit()
    state = load_checkpoint(tmp_path)
    assert set(state) == {"format", "version", "model", "optimizer", "scheduler", "step", "history", "elapsed",
                          "tokens", "cpu_seconds", "acc", "rng", "train_config", "resumes", "model_name",
                          "model_config", "tokenizer", "scaler", "skipped_steps"}
    assert state["scaler"] == {} and state["skipped_steps"] == 0 and state["train_config"]["precision"] == "fp32"
    assert set(state["acc"]) == {"loss", "n", "tokens", "time"} and set(state["rng"]) >= {"python", "torch"}
    assert state["tokens"] == 2 * data.batch_size * 32
