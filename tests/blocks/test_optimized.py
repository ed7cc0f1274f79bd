"""gamlab.blocks.optimized: the contract between the two forms of every model, the reference layers
the block files write and the optimized forms the policy applies (same parameters, outputs and
gradients), each optimized form against its reference, and the chunked scan against the sequential one."""

import pytest
import torch
from torch import nn

from gamlab import GAMBlock, ModelConfig, build_model
from gamlab.blocks.mamba import MambaMixer, scan_sequential
from gamlab.blocks.optimized import (
    DEFAULT,
    FORMS,
    ChunkedMambaMixer,
    FusedAssociativeMemory,
    optimized_forms,
    use_optimized_forms,
)
from gamlab.blocks.optimized.mamba import SelectiveScan
from gamlab.errors import GamlabError
from gamlab.model import MODELS


def tiny(**changes):
    return ModelConfig.preset("tiny", **{"dropout": 0.0, **changes})


@pytest.mark.parametrize("scale_scores", [False, True])
def test_memory_read_equals_explicit_weights(scale_scores):
    torch.manual_seed(0)
    block = GAMBlock(tiny(scale_scores=scale_scores))
    h = torch.randn(3, 19, 64) * 3  # large scores: a wrong scale would show
    retrieved, w = block.memory(h)
    fused = use_optimized_forms(block, ["retrieval"]).memory
    assert isinstance(fused, FusedAssociativeMemory) and fused(h)[1] is None
    assert torch.allclose(fused(h)[0], retrieved, atol=1e-5)
    assert torch.allclose(retrieved, w @ block.memory.slots, atol=1e-6)
    assert torch.allclose(fused.with_weights(h)[1], w)  # the probes' explicit weights, whatever the form


def _perturbed(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module


def _run(module, x, dy, *args):
    """(output, input gradient, parameter gradients) of one forward+backward."""
    x.grad = None
    module.zero_grad(set_to_none=True)
    y = module(x, *args)
    y = y[0] if isinstance(y, tuple) else y
    y.backward(dy)
    return y.detach(), x.grad.clone(), {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("fusion", ["gated", "sum", "local", "global", "local-nogate", "global-nogate"])
def test_optimized_gam_block_equals_reference_forward_and_gradients(fusion):
    torch.manual_seed(1)
    ref = _perturbed(GAMBlock(tiny(fusion=fusion)))
    opt = use_optimized_forms(GAMBlock(tiny(fusion=fusion)))
    opt.load_state_dict(ref.state_dict())
    x = torch.randn(2, 23, 64, requires_grad=True)
    dy = torch.randn(2, 23, 64)
    (y1, dx1, g1), (y2, dx2, g2) = _run(opt, x, dy), _run(ref, x, dy)
    assert torch.allclose(y1, y2, atol=1e-5)
    assert torch.allclose(dx1, dx2, atol=1e-5)
    assert g1.keys() == g2.keys() == dict(ref.named_parameters()).keys()
    for name in g1:
        assert torch.allclose(g1[name], g2[name], atol=1e-4), name


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_optimized_equals_reference_in_float64(name):
    """The fair race's precondition: each model computes the same function in both forms."""
    torch.manual_seed(4)
    ref = _perturbed(build_model(name, tiny(), optimized=False).double())
    opt = build_model(name, tiny(), optimized=True).double()
    opt.load_state_dict(ref.state_dict())
    assert optimized_forms(ref) == () and set(optimized_forms(opt)) <= set(DEFAULT)
    idx = torch.randint(0, 256, (2, 37))
    logits = [m(idx)[0] for m in (opt, ref)]
    torch.testing.assert_close(logits[0], logits[1], rtol=1e-10, atol=1e-10)
    dy = torch.randn_like(logits[0])
    for (n, p), (_, q) in zip(opt.named_parameters(), ref.named_parameters()):
        gp, gq = torch.autograd.grad(logits[0], p, dy, retain_graph=True), torch.autograd.grad(logits[1], q, dy, retain_graph=True)
        torch.testing.assert_close(gp, gq, rtol=1e-9, atol=1e-10, msg=name + ": " + n)


def test_one_policy_for_every_model_and_it_only_swaps_classes():
    for name in MODELS:
        model = build_model(name, tiny())
        linears = {type(m) for m in model.modules() if isinstance(m, nn.Linear)}
        assert len(linears) == 1, (name, linears)  # the same Linear form in every part of every model
        assert linears == {nn.Linear}  # no optimized Linear: it measured no gain (docs/benchmark.md)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        use_optimized_forms(model, False)
        assert optimized_forms(model) == ()
        use_optimized_forms(model, list(FORMS))
        assert set(optimized_forms(model)) <= set(FORMS)
        after = model.state_dict()
        assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert set(optimized_forms(build_model("gam", tiny()))) == set(DEFAULT) - {"scan"}  # GAM has no Mamba scan
    assert set().union(*(optimized_forms(build_model(name, tiny())) for name in MODELS)) == set(DEFAULT)
    with pytest.raises(GamlabError, match="unknown optimized form"):
        use_optimized_forms(build_model("gam", tiny()), ["warp"])


def test_reference_block_is_the_paper_transcribed():
    """The speed baseline (the reference block) must be the paper's function, or its ratio
    means nothing: the paper's lines written out with the block's own parameters."""
    import torch.nn.functional as F

    torch.manual_seed(2)
    block = _perturbed(GAMBlock(tiny(conv_kernel=4))).eval()
    opt = use_optimized_forms(GAMBlock(tiny(conv_kernel=4))).eval()
    opt.load_state_dict(block.state_dict())

    def paper(x):
        T, k = x.size(1), block.conv.kernel_size[0]
        h = block.norm1(x)
        local = F.conv1d(h.transpose(1, 2), block.conv.weight, block.conv.bias, padding=k - 1,
                         groups=h.size(-1))[:, :, :T].transpose(1, 2)  # pad both sides, drop the future
        M = block.memory.slots
        global_ = torch.softmax(h @ M.T, dim=-1) @ M
        g_l, g_g = block.gate(h).chunk(2, dim=-1)
        x = x + torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
        return x + block.ffn(block.norm2(x))

    x = torch.randn(2, 23, 64, requires_grad=True)
    outs = [(y, torch.autograd.grad(y.sum(), x)[0]) for y in (paper(x), block(x), opt(x))]
    for y, dx in outs[1:]:
        assert torch.allclose(y, outs[0][0], atol=1e-5)
        assert torch.allclose(dx, outs[0][1], atol=1e-5)


def test_optimized_block_still_gives_weights_for_probes():
    block = use_optimized_forms(GAMBlock(tiny())).eval()
    with torch.no_grad():
        y, inside = block.forward_with_internals(torch.randn(1, 9, 64))
    assert inside.reads == "slots" and inside.weights.shape == (1, 9, 64)
    assert torch.allclose(inside.weights.sum(-1), torch.ones(1, 9))
    assert inside.gate_local.shape == (1, 9, 64)


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
    chunked = build_model("mamba", config).eval()  # the policy's default: the chunked scan
    seq = build_model("mamba", config, optimized=False).eval()
    seq.load_state_dict(chunked.state_dict())
    idx = torch.randint(0, 256, (2, 45))
    assert torch.allclose(chunked(idx)[0], seq(idx)[0], atol=1e-4)
    assert ModelConfig().mamba_scan == "sequential" and "scan" in DEFAULT
    assert type(chunked.blocks[0].mixer) is ChunkedMambaMixer and type(seq.blocks[0].mixer) is MambaMixer


def test_the_chunked_form_keeps_a_scan_the_config_chose():
    """mamba_scan="parallel" (or "cuda") is the config's choice: the optimized form replaces only the sequential scan."""
    torch.manual_seed(5)
    config = tiny(mamba_scan="parallel")
    opt, ref = build_model("mamba", config).eval(), build_model("mamba", config, optimized=False).eval()
    ref.load_state_dict(opt.state_dict())
    idx = torch.randint(0, 256, (2, 19))
    torch.testing.assert_close(opt(idx)[0], ref(idx)[0])
    assert opt.blocks[0].mixer.scan_copies(64) == ref.blocks[0].mixer.scan_copies(64) == 4 * 6
    assert build_model("mamba", tiny()).blocks[0].mixer.scan_copies(64) == 1  # one chunk at a time


@pytest.mark.parametrize("T", [1, 2, 5, 40])
@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_shift_add_convolution_equals_conv1d_with_gradients(T, k, bias):
    """The optimized conv on CPU runs ShiftAddConv (hand-written backward); conv1d is the reference."""
    import torch.nn.functional as F

    from gamlab.blocks.optimized.conv import ShiftAddCausalConv1d, ShiftAddConv

    torch.manual_seed(T * 10 + k)
    conv = ShiftAddCausalConv1d(5, k, bias=bias).double()
    x = torch.randn(2, T, 5, dtype=torch.float64, requires_grad=True)
    reference = F.conv1d(F.pad(x.transpose(1, 2), (k - 1, 0)), conv.weight, conv.bias, groups=5).transpose(1, 2)
    assert torch.allclose(conv(x), reference)
    assert torch.autograd.gradcheck(ShiftAddConv.apply, (x, conv.weight, conv.bias))


def test_cpu_dropout_keeps_the_expected_fraction_and_the_expected_value():
    from gamlab.blocks.optimized.dropout import Dropout

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
    import gamlab.blocks.optimized.dropout
    from gamlab.blocks.optimized.dropout import Dropout

    def no_cheap_mask(*args):
        raise AssertionError("keep_mask must not be used here")

    monkeypatch.setattr(gamlab.blocks.optimized.dropout, "keep_mask", no_cheap_mask)
    x = torch.ones(1000)
    assert Dropout(1e-6).train()(x).shape == x.shape  # round(p * 32768) == 0: torch's dropout
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros(1000))
    assert Dropout(0.5).train()(torch.ones(3, 4, device="meta")).shape == (3, 4)  # not CPU
    with pytest.raises(AssertionError, match="must not"):
        Dropout(0.5).train()(x)  # the cheaper mask is the default on CPU


def test_block_files_hold_no_hand_written_backward():
    """The reference files read like the paper; every autograd.Function is an optimized form."""
    import inspect as inspect_

    import gamlab.blocks
    from gamlab.blocks import conv, ffn, gam, gating, mamba, memory, transformer
    from gamlab.blocks import fastweight as fw
    from gamlab.blocks.optimized import conv as opt_conv
    from gamlab.blocks.optimized import mamba as opt_mamba

    def functions(module):
        return [c for _, c in inspect_.getmembers(module, inspect_.isclass)
                if issubclass(c, torch.autograd.Function) and c.__module__ == module.__name__]

    for module in (conv, ffn, gam, gating, mamba, memory, transformer, fw):
        assert not functions(module), f"{module.__name__} holds {functions(module)}; move it to gamlab.blocks.optimized"
    assert functions(opt_mamba) == [SelectiveScan] and functions(opt_conv)  # the check sees them
    assert gamlab.blocks.optimized.FORMS["scan"].reference is MambaMixer
