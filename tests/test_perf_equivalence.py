"""Fast paths equal their plain references: GAM retrieval, the GAM block, the chunked scan."""

import pytest
import torch

from gamlab import GAMBlock, ModelConfig, build_model
from gamlab.gam import GAMBlockReference
from gamlab.mamba import SelectiveScan, scan_sequential


def tiny(**changes):
    return ModelConfig.preset("tiny", **{"dropout": 0.0, **changes})


@pytest.mark.parametrize("scale_scores", [False, True])
def test_memory_read_equals_explicit_weights(scale_scores):
    torch.manual_seed(0)
    block = GAMBlock(tiny(scale_scores=scale_scores))
    h = torch.randn(3, 19, 64) * 3  # large scores: a wrong scale would show
    retrieved, w = block.memory(h)
    assert torch.allclose(block.memory.read(h), retrieved, atol=1e-5)
    assert torch.allclose(retrieved, w @ block.memory.slots, atol=1e-6)


@pytest.mark.parametrize("fusion", ["gated", "sum", "local", "global"])
def test_fast_gam_block_equals_reference_forward_and_gradients(fusion):
    torch.manual_seed(1)
    fast = GAMBlock(tiny(fusion=fusion))
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ref = GAMBlockReference(tiny(fusion=fusion))
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(2, 23, 64, requires_grad=True)
    dy = torch.randn(2, 23, 64)
    grads = []
    for block in (fast, ref):
        x.grad = None
        y = block(x)
        y.backward(dy)
        grads.append((y.detach(), x.grad.clone(), {n: p.grad.clone() for n, p in block.named_parameters()}))
    (y1, dx1, g1), (y2, dx2, g2) = grads
    assert torch.allclose(y1, y2, atol=1e-5)
    assert torch.allclose(dx1, dx2, atol=1e-5)
    for name in g1:
        assert torch.allclose(g1[name], g2[name], atol=1e-4), name


def test_paper_style_baseline_computes_the_same_block():
    """The benchmark's speed baseline must be the same function, or its ratio means nothing."""
    from gamlab.bench import PaperStyleGAMBlock

    torch.manual_seed(2)
    config = tiny(conv_kernel=4)
    fast = GAMBlock(config).eval()
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(0.1 * torch.randn_like(p))
    plain = PaperStyleGAMBlock(config).eval().load_from(fast)
    x = torch.randn(2, 23, 64, requires_grad=True)
    y_fast = fast(x)
    dx_fast, = torch.autograd.grad(y_fast.sum(), x)
    y_plain = plain(x)
    dx_plain, = torch.autograd.grad(y_plain.sum(), x)
    assert torch.allclose(y_fast, y_plain, atol=1e-5)
    assert torch.allclose(dx_fast, dx_plain, atol=1e-5)


def test_fast_block_still_captures_weights_for_probes():
    block = GAMBlock(tiny()).eval()
    block.capture = {}
    with torch.no_grad():
        block(torch.randn(1, 9, 64))
    assert block.capture["weights"].shape == (1, 9, 64)
    assert torch.allclose(block.capture["weights"].sum(-1), torch.ones(1, 9))
    assert block.capture["gate_local"].shape == (1, 9, 64)


def plain_ssm(u, dt, A, Bm, Cm):
    """The Mamba recurrence written out: (B, T, D, N) tensors, then the sequential scan."""
    dA = torch.exp(dt.unsqueeze(-1) * A)
    dBu = dt.unsqueeze(-1) * Bm.unsqueeze(2) * u.unsqueeze(-1)
    return (scan_sequential(dA, dBu) @ Cm.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("T,chunk", [(1, 4), (7, 3), (16, 16), (33, 8), (50, 64), (100, 7)])
def test_chunked_scan_equals_sequential_with_gradients(T, chunk):
    torch.manual_seed(2)
    B, D, N = 2, 5, 3
    inputs = [torch.randn(B, T, D), torch.rand(B, T, D), -torch.rand(D, N) * 3,
              torch.randn(B, T, N), torch.randn(B, T, N)]
    inputs = [t.double().requires_grad_() for t in inputs]
    y1 = plain_ssm(*inputs)
    y2 = SelectiveScan.apply(*inputs, chunk)
    dy = torch.randn_like(y1)
    g1 = torch.autograd.grad(y1, inputs, dy)
    g2 = torch.autograd.grad(y2, inputs, dy)
    assert torch.allclose(y1, y2, atol=1e-10)
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-9)


def test_chunked_scan_survives_strong_decay():
    """Large dt * |A| (state forgotten within a step) gives no inf or nan."""
    B, T, D, N = 1, 40, 2, 4
    u, Bm, Cm = torch.randn(B, T, D), torch.randn(B, T, N), torch.randn(B, T, N)
    dt, A = torch.full((B, T, D), 50.0), -torch.full((D, N), 10.0)
    y = SelectiveScan.apply(u, dt, A, Bm, Cm, 16)
    assert torch.isfinite(y).all()
    assert torch.allclose(y, plain_ssm(u, dt, A, Bm, Cm), atol=1e-4)


def test_chunked_mamba_model_equals_sequential():
    torch.manual_seed(3)
    config = tiny()
    fast = build_model("mamba", config.replace(mamba_scan="chunked")).eval()
    seq = build_model("mamba", config.replace(mamba_scan="sequential")).eval()
    seq.load_state_dict(fast.state_dict())
    idx = torch.randint(0, 256, (2, 45))
    assert torch.allclose(fast(idx)[0], seq(idx)[0], atol=1e-4)
    assert ModelConfig().mamba_scan == "chunked"
