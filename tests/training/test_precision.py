"""Precision (issue 23): one policy picks bf16, fp16 or fp32 from what the device can do
(gamlab.runtime.pick_precision); fp16 trains with loss scaling, skips overflowing steps without
calling them divergence, resumes exactly, and is part of what defines a run."""

import math
import warnings

import pytest
import torch

from gamlab import GamlabError, ModelConfig, build_model, runtime, seed_everything
from gamlab.runtime import PrecisionWarning, autocast, describe, pick_precision
from gamlab.training.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from gamlab.training.data import load_data
from gamlab.training.train import TrainConfig, Trainer

CUDA = torch.device("cuda")


def fake_gpu(monkeypatch, capability):
    """torch.cuda answers as a GPU of `capability` would (no GPU here; the policy reads only this)."""
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    monkeypatch.setattr(runtime, "_warned", set())


# ---------------------------------------------------------------- the policy

@pytest.mark.parametrize("capability, expected", [
    ((7, 0), "fp16"),  # V100: fp16 tensor cores, no bf16
    ((7, 5), "fp16"),  # T4 (Colab's free GPU)
    ((8, 0), "bf16"),  # A100
    ((8, 9), "bf16"),  # L4, RTX 40xx
    ((9, 0), "bf16"),  # H100
])
def test_the_policy_follows_the_compute_capability(capability, expected, monkeypatch):
    fake_gpu(monkeypatch, capability)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the policy's own choice never warns
        assert pick_precision(CUDA) == expected == pick_precision("cuda:0", "auto")
        line = describe(CUDA)
    assert f"compute capability {capability[0]}.{capability[1]}" in line
    assert f"| precision {expected}" in line and "(auto)" in line


def test_a_cpu_and_mps_compute_in_fp32_whatever_a_gpu_could(monkeypatch):
    fake_gpu(monkeypatch, (9, 0))
    assert pick_precision(torch.device("cpu")) == "fp32" == pick_precision("mps")
    with autocast(torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.float32


def test_explicit_bf16_without_bf16_hardware_runs_with_one_warning(monkeypatch):
    fake_gpu(monkeypatch, (7, 5))
    with pytest.warns(PrecisionWarning, match=r"^bf16 on cuda \(compute capability 7\.5, no bf16 hardware\) is "
                                              r"emulated and slow; --precision fp16 \(or auto\)"):
        assert pick_precision(CUDA, "bf16") == "bf16"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per device: not again at every step or caller
        assert pick_precision(CUDA, "bf16") == "bf16"
        assert pick_precision(CUDA, "fp32") == "fp32" and pick_precision(CUDA, "fp16") == "fp16"
        fake_gpu(monkeypatch, (8, 0))
        assert pick_precision(CUDA, "bf16") == "bf16"  # native: no warning


@pytest.mark.parametrize("bad", ["fp8", "float16", "BF16", "", None])
def test_an_unknown_precision_is_refused_in_one_sentence(bad):
    for refuse in (lambda: pick_precision("cpu", bad), lambda: TrainConfig(precision=bad),
                   lambda: autocast("cpu", bad)):
        with pytest.raises(GamlabError) as err:
            refuse()
        assert str(err.value) == f"Unknown precision {bad!r}; choose auto, bf16, fp16 or fp32."


@pytest.mark.parametrize("precision, dtype", [("fp16", torch.float16), ("bf16", torch.bfloat16)])
def test_fp16_and_bf16_run_on_a_cpu_when_asked(precision, dtype):
    with autocast("cpu", precision):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == dtype


def test_describe_names_the_precision_in_use():
    cpu = torch.device("cpu")
    assert "| precision fp32 (auto) |" in describe(cpu)
    assert "| precision fp32 |" in describe(cpu, "fp32")
    assert "| precision fp16 (loss scaling) |" in describe(cpu, "fp16")
    assert "| precision bf16 autocast |" in describe(cpu, "bf16")


# ---------------------------------------------------------------- fp16 training

@pytest.fixture(scope="module")
def data():
    return load_data(n_stories=300, block_size=32, batch_size=8, seed=1)


def _model(name, data, **changes):
    seed_everything(0)
    return build_model(name, ModelConfig.preset("tiny", vocab_size=data.vocab_size, block_size=32, **changes))


def _key(history):
    return [(h["step"], h["train_loss"], h["val_loss"], h["lr"]) for h in history]


def overflowing(trainer: Trainer) -> Trainer:
    """Its loss scaler starts at 2^28, where fp16 gradients overflow, and grows again after every
    2 good steps: steps are skipped early and now and then, so the scaler's state matters."""
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 28, growth_interval=2)
    return trainer


def test_a_step_whose_fp16_gradients_overflow_is_skipped_and_counted(data):
    tc = TrainConfig.preset("tiny", steps=4, eval_every=4, eval_batches=1, batch_size=data.batch_size,
                            precision="fp16")
    for scale, skipped in ((2.0 ** 28, True), (2.0 ** 10, False)):
        trainer = Trainer(_model("gam", data), tc, data.get_batch, progress=False)
        trainer.scaler = torch.amp.GradScaler("cpu", init_scale=scale)
        before = [p.detach().clone() for p in trainer.model.parameters()]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "scheduler step before optimizer step" from torch
            trainer.fit(1)
        same = all(torch.equal(b, p) for b, p in zip(before, trainer.model.parameters()))
        assert same is skipped  # a skipped step leaves every weight as it was
        assert trainer.skipped_steps == skipped and trainer.step == 1
        assert trainer.scaler.get_scale() == (scale / 2 if skipped else scale)
        assert trainer.scheduler.last_epoch == 1 - skipped  # the schedule counts the updates made


def test_fp16_skips_overflowing_steps_without_calling_them_divergence(data):
    tc = TrainConfig.preset("tiny", steps=12, eval_every=6, eval_batches=2, batch_size=data.batch_size,
                            precision="fp16")
    trainer = overflowing(Trainer(_model("gam", data), tc, data.get_batch, progress=False))
    history = trainer.fit()
    assert trainer.precision == "fp16" and trainer.skipped_steps > 0
    # a skipped step uses its batch and the run keeps its length; the schedule counts the updates made
    assert trainer.step == 12 and [h["step"] for h in history] == [6, 12]
    assert trainer.scheduler.last_epoch == 12 - trainer.skipped_steps
    assert all(math.isfinite(h["train_loss"]) for h in history)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert trainer.summary()["precision"] == "fp16"


@pytest.mark.parametrize("name", ["gam", "mamba"])
def test_an_fp16_run_stopped_and_resumed_ends_as_an_uninterrupted_one(name, data, tmp_path):
    tc = TrainConfig.preset("tiny", steps=16, eval_every=4, checkpoint_every=6, eval_batches=2,
                            batch_size=data.batch_size, precision="fp16")
    meta = {"tokenizer": data.tokenizer.to_dict()}

    def trainer(out):
        return overflowing(Trainer(_model(name, data, dropout=0.1), tc, data.get_batch, out=out, meta=meta,
                                   progress=False))

    whole = trainer(tmp_path / "a")
    whole.fit()
    first = trainer(tmp_path / "b")
    first.fit(9)  # "killed" after step 9: the last checkpoint is step 6
    saved = load_checkpoint(tmp_path / "b")
    assert saved["step"] == 6 and saved["scaler"]["scale"] < 2.0 ** 28 and saved["train_config"]["precision"] == "fp16"
    torch.manual_seed(4321)
    second = trainer(tmp_path / "b")  # a fresh scaler at 2^28: only the checkpoint's state makes it equal
    assert second.resume() == 6
    second.fit()
    assert whole.skipped_steps > 0 and second.skipped_steps == whole.skipped_steps
    assert _key(second.history) == _key(whole.history)
    assert second.scaler.state_dict() == whole.scaler.state_dict()
    for p, q in zip(whole.model.parameters(), second.model.parameters()):
        assert torch.equal(p, q)


def test_a_resume_in_another_precision_is_refused(data, tmp_path):
    tc = TrainConfig.preset("tiny", steps=4, eval_every=4, eval_batches=1, checkpoint_every=2,
                            batch_size=data.batch_size, precision="fp16")
    Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False).fit(2)
    for other in ("fp32", "auto", "bf16"):  # auto is fp32 on a CPU
        again = Trainer(_model("gam", data), tc.replace(precision=other), data.get_batch, out=tmp_path, progress=False)
        with pytest.raises(GamlabError, match=r"was written for a different precision \('fp16', not "
                                              rf"'{again.precision}'\); a resumed run keeps .* \(--precision, "):
            again.resume()
    assert Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False).resume() == 2


def test_auto_is_recorded_as_the_precision_that_ran(data, tmp_path):
    """A checkpoint records fp32, not "auto", on a CPU: a resume compares the dtype that ran."""
    tc = TrainConfig.preset("tiny", steps=4, eval_every=4, eval_batches=1, checkpoint_every=2,
                            batch_size=data.batch_size)
    assert tc.precision == "auto"
    Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False).fit(2)
    assert load_checkpoint(tmp_path)["train_config"]["precision"] == "fp32"
    for same in ("fp32", "auto"):
        resumed = Trainer(_model("gam", data), tc.replace(precision=same), data.get_batch, out=tmp_path,
                          progress=False)
        assert resumed.resume() == 2


def test_a_checkpoint_from_before_precision_resumes_exactly(data, tmp_path):
    """Checkpoints written before precision was recorded have no scaler, no skipped steps and no
    train_config["precision"] (they ran in float32 on a CPU): they still load and resume exactly."""
    tc = TrainConfig.preset("tiny", steps=12, eval_every=4, checkpoint_every=6, eval_batches=2,
                            batch_size=data.batch_size)
    whole = Trainer(_model("gam", data), tc, data.get_batch, progress=False)
    whole.fit()
    Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False).fit(6)
    state = load_checkpoint(tmp_path)
    del state["scaler"], state["skipped_steps"], state["train_config"]["precision"]
    save_checkpoint(checkpoint_path(tmp_path), state)
    resumed = Trainer(_model("gam", data), tc, data.get_batch, out=tmp_path, progress=False)
    assert resumed.resume() == 6
    resumed.fit()
    assert _key(resumed.history) == _key(whole.history) and resumed.skipped_steps == 0
