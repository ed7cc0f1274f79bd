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


@pytest.mark.parametrize("T", [1, 2, 5, 40])
@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_shift_add_convolution_equals_conv1d_with_gradients(T, k, bias):
    """CausalConv1d on CPU runs ShiftAddConv (hand-written backward); conv1d is the reference."""
    import torch.nn.functional as F

    from gamlab.conv import CausalConv1d, ShiftAddConv

    torch.manual_seed(T * 10 + k)
    conv = CausalConv1d(5, k, bias=bias).double()
    x = torch.randn(2, T, 5, dtype=torch.float64, requires_grad=True)
    reference = F.conv1d(F.pad(x.transpose(1, 2), (k - 1, 0)), conv.weight, conv.bias, groups=5).transpose(1, 2)
    assert torch.allclose(conv(x), reference)
    assert torch.autograd.gradcheck(ShiftAddConv.apply, (x, conv.weight, conv.bias))


def test_gated_sum_gradients_reach_logits_through_both_outputs():
    """GatedSum's hand-written backward, for the update and for the gate values it returns."""
    from gamlab.gating import GatedSum

    torch.manual_seed(3)
    logits = torch.randn(2, 5, 8, dtype=torch.float64, requires_grad=True)
    local = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    global_ = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    args = (logits, local, global_)
    assert torch.autograd.gradcheck(GatedSum.apply, args)
    assert torch.autograd.gradcheck(lambda *a: GatedSum.apply(*a)[0], args)  # gates unused
    assert torch.autograd.gradcheck(lambda *a: GatedSum.apply(*a)[1], args)  # update unused


@pytest.mark.parametrize("shape", [(7,), (3, 7), (2, 5, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_with_bias_added_after_the_product_equals_nn_linear(shape, bias):
    from torch import nn

    from gamlab.linear import Linear

    torch.manual_seed(len(shape))
    ours = Linear(7, 4, bias=bias).double()
    theirs = nn.Linear(7, 4, bias=bias).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(ours(x), theirs(x))
    assert torch.autograd.gradcheck(ours, (x,))  # input gradient, and through it the graph
    dy = torch.randn(*shape[:-1], 4, dtype=torch.float64)
    grads = [torch.autograd.grad(m(x), [x, *m.parameters()], dy) for m in (ours, theirs)]
    assert all(torch.allclose(g, h) for g, h in zip(*grads))  # weight and bias gradients too


def test_linear_is_torch_s_own_off_the_cpu_and_without_bias(monkeypatch):
    from torch import nn

    from gamlab.linear import Linear

    calls = []
    plain = nn.Linear.forward
    monkeypatch.setattr(nn.Linear, "forward", lambda self, x: calls.append(x.device.type) or plain(self, x))
    Linear(7, 4, device="meta")(torch.ones(3, 7, device="meta"))  # other devices: nn.Linear
    Linear(7, 4, bias=False)(torch.ones(3, 7))  # no bias to add
    assert calls == ["meta", "cpu"]
    Linear(7, 4)(torch.ones(3, 7))  # CPU with a bias: the product, then the add
    assert calls == ["meta", "cpu"]


def test_cpu_dropout_keeps_the_expected_fraction_and_the_expected_value():
    from gamlab.dropout import Dropout

    drop = Dropout(0.1).train()
    x = torch.ones(4, 512, 512, requires_grad=True)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.9) < 2e-3  # 1M elements: std of the fraction 3e-4
    assert torch.allclose(y[kept], torch.full_like(y[kept], 32768 / (32768 - 3277)))  # 1 / P(keep)
    assert abs(y.mean().item() - 1.0) < 3e-3  # unbiased
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # gradient = mask * scale
    torch.manual_seed(0)
    assert torch.equal(drop(x), y)  # the seed decides the mask
    assert torch.equal(drop.eval()(x), x)


def test_dropout_falls_back_to_torch_where_15_bits_cannot_say_p(monkeypatch):
    import gamlab.dropout
    from gamlab.dropout import Dropout

    def no_fast_mask(*args):
        raise AssertionError("keep_mask must not be used here")

    monkeypatch.setattr(gamlab.dropout, "keep_mask", no_fast_mask)
    x = torch.ones(1000)
    assert Dropout(1e-6).train()(x).shape == x.shape  # round(p * 32768) == 0: torch's dropout
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros(1000))
    assert Dropout(0.5).train()(torch.ones(3, 4, device="meta")).shape == (3, 4)  # not CPU
    with pytest.raises(AssertionError, match="must not"):
        Dropout(0.5).train()(x)  # the fast path is the default on CPU


def test_keep_freed_memory_applies_on_linux():
    import sys

    from gamlab.runtime import keep_freed_memory

    assert keep_freed_memory() is (sys.platform.startswith("linux") and _glibc())


def _glibc() -> bool:
    import platform

    return platform.libc_ver()[0] == "glibc"
