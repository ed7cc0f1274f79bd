"""Every model under fp16 autocast with loss scaling, on the CPU (issue 23): the float32 islands
(Mamba's scan, the fast-weight memory, the fused retrieval) keep float32 inside and hand back
the autocast dtype, and every registered model trains."""

import pytest
import torch

from gamlab import ModelConfig, build_model, list_models
from gamlab.blocks import fastweight, mamba
from gamlab.blocks.memory import AssociativeMemory
from gamlab.blocks.optimized import mamba as optimized_mamba
from gamlab.blocks.optimized.memory import FusedAssociativeMemory
from gamlab.runtime import autocast
from gamlab.training.train import make_optimizer

ALL_MODELS = list(list_models())


def tiny(**changes):
    return ModelConfig.preset("tiny", **{"dropout": 0.0, "vocab_size": 64, "block_size": 128, **changes})


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().float(), b.detach().float()
    return float((a - b).abs().max() / b.abs().max())


def seen_inside(monkeypatch, owner, name: str) -> list:
    """Wrap owner.name so that each call records its tensor arguments' dtypes and whether CPU
    autocast was on inside it."""
    calls, inner = [], getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append(([a.dtype for a in args if torch.is_tensor(a)], torch.is_autocast_enabled("cpu")))
        return inner(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


@pytest.mark.parametrize("scan,optimized", [("sequential", True), ("parallel", True), ("sequential", False)])
def test_mambas_scan_runs_in_float32_inside_fp16_autocast(scan, optimized, monkeypatch):
    """The optimized form of the sequential scan (the chunked SelectiveScan), the parallel scan and
    the sequential reference scan."""
    torch.manual_seed(0)
    mixer = build_model("mamba", tiny(mamba_scan=scan), optimized=optimized).blocks[0].mixer
    x = torch.randn(2, 128, mixer.in_proj.in_features)
    reference = mixer(x)  # float32 throughout
    chunked = optimized and scan == "sequential"
    where = (optimized_mamba.SelectiveScan, "apply") if chunked else (mamba, f"scan_{scan}")
    calls = seen_inside(monkeypatch, *where)
    with autocast("cpu", "fp16"):
        y = mixer(x)
    assert calls == [([torch.float32] * len(calls[0][0]), False)]  # widened, and autocast off inside
    assert y.dtype == torch.float16  # handed back in the autocast dtype
    assert relative(y, reference) < 1e-2  # fp16's projections, float32's scan


def test_the_fast_weight_memory_runs_in_float32_inside_fp16_autocast(monkeypatch):
    torch.manual_seed(0)
    memory = build_model("gam-fw", tiny()).blocks[0].memory
    h = torch.randn(2, 128, memory.proj.in_features)
    reference, _ = memory(h)
    calls = seen_inside(monkeypatch, fastweight, "memory_chunked")
    with autocast("cpu", "fp16"):
        y, _ = memory(h)
        _, weights = memory.with_weights(h)
    assert calls == [([torch.float32] * 3, False)] * 2
    assert y.dtype == torch.float16 and weights.dtype == torch.float32  # the read weights are for probes
    assert relative(y, reference) < 1e-2


def test_the_fused_retrieval_hands_back_fp16_with_float32_accuracy():
    torch.manual_seed(0)
    memory = AssociativeMemory(64, 128)
    h = torch.randn(2, 128, 64) * 3  # LayerNorm-sized rows, larger scores than at initialisation
    reference, _ = memory(h)
    memory.__class__ = FusedAssociativeMemory
    with autocast("cpu", "fp16"):
        y, _ = memory(h)
    assert y.dtype == torch.float16
    # the inputs are rounded to fp16 once; the scores, softmax and sum inside the kernel are not
    assert relative(y, reference) < 5e-3


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_model_trains_under_fp16_autocast_with_loss_scaling(name):
    torch.manual_seed(0)
    model = build_model(name, tiny(block_size=32, dropout=0.1))
    opt = make_optimizer(model, lr=1e-2)
    scaler = torch.amp.GradScaler("cpu")
    idx = torch.randint(0, 64, (4, 32))
    batch = (idx, torch.roll(idx, -1, dims=1))  # predict the next token of a fixed sequence: learnable
    losses, skipped = [], 0
    for _ in range(10):
        with autocast("cpu", "fp16"):
            logits, loss = model(*batch)
        assert logits.dtype == torch.float16 and loss.dtype == torch.float32
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # as the Trainer does (gamlab.training.train.Trainer.fit)
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scale = scaler.get_scale()
        scaler.update()
        skipped += scaler.get_scale() < scale
        losses.append(loss.item())
    assert skipped == 0 and scaler.get_scale() == 2.0 ** 16  # no overflow at the default scale
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())
    assert losses[-1] < losses[0] - 0.1, losses
