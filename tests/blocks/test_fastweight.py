"""The fast-weight GAM: chunked form == sequential reference, causal, every parameter learns."""

import pytest
import torch

from gamlab import ModelConfig, build_model
from gamlab.blocks.fastweight import (
    FastWeightGAMBlock,
    FastWeightMemory,
    feature_map,
    memory_chunked,
    memory_sequential,
    read_weights,
)


def tiny(**changes):
    return ModelConfig.preset("tiny", **{"dropout": 0.0, **changes})


@pytest.mark.parametrize("T,chunk", [(1, 4), (7, 4), (16, 4), (33, 8), (64, 64), (100, 16)])
def test_chunked_equals_sequential(T, chunk):
    g = torch.Generator().manual_seed(T)
    q, k, v = (torch.randn(2, 3, T, 5, generator=g, dtype=torch.float64) for _ in range(3))
    q, k = feature_map(q), feature_map(k)
    torch.testing.assert_close(memory_chunked(q, k, v, chunk), memory_sequential(q, k, v))


def test_read_weights_explain_the_output():
    """global_t (before the output projection) is exactly sum_s a_ts v_s: the weights are what is read."""
    torch.manual_seed(0)
    mem = FastWeightMemory(16, 2).double()
    h = torch.randn(3, 20, 16, dtype=torch.float64)
    q, k, v = mem.qkv_heads(h)
    a = read_weights(q, k)  # (B, H, T, T)
    assert torch.all(a >= 0) and torch.all(a.triu(1) == 0)
    torch.testing.assert_close(a.sum(-1), torch.ones(3, 2, 20, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(a @ v, memory_chunked(q, k, v, chunk=8), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("T", [5, 64, 90])
def test_block_chunked_equals_sequential(T):
    torch.manual_seed(1)
    block = FastWeightGAMBlock(tiny(d_model=32, n_head=4), chunk=16).eval()
    x = torch.randn(2, T, 32)
    fast = block(x)
    block.sequential = True
    torch.testing.assert_close(fast, block(x), atol=1e-5, rtol=1e-4)


def test_block_is_causal_and_reaches_far_back():
    torch.manual_seed(2)
    block = FastWeightGAMBlock(tiny(d_model=32, n_head=4), chunk=8).eval()
    x = torch.randn(1, 50, 32)
    changed = x.clone()
    changed[:, 30:] += torch.randn(1, 20, 32)
    with torch.no_grad():
        a, b = block(x), block(changed)
    assert torch.equal(a[:, :30], b[:, :30])
    # the first token changes the output 49 steps later: far beyond the convolution's reach
    first = x.clone()
    first[:, 0] += torch.randn(32)  # not a constant: LayerNorm would remove a shift
    with torch.no_grad():
        assert not torch.allclose(block(first)[:, 49], a[:, 49], atol=1e-6)


def test_gradients_reach_every_parameter_and_internals():
    torch.manual_seed(3)
    model = build_model("gam-fw", tiny())
    idx = torch.randint(0, 256, (2, 64))
    _, loss = model(idx, idx)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    with torch.no_grad():
        _, records = model.forward_with_internals(idx)
    cap = records[0]
    assert cap.weights.shape == (2, 4, 64, 64)
    assert cap.gate_local.shape == cap.gate_global.shape == (2, 64, 64)
    assert 0 < float(cap.gate_global.min()) and float(cap.gate_global.max()) < 1
    assert cap.reads == "tokens"  # read weights over earlier tokens, not the slot memory's


def test_it_is_the_gam_block_with_another_global_path_and_slot_probes_refuse_it():
    from gamlab import GAMBlock, GamlabError
    from gamlab.inspection.probes import probe, slot_table

    cfg = tiny(d_model=32, n_head=4)
    fw, gam = FastWeightGAMBlock(cfg), GAMBlock(cfg)
    shared = {k: v.shape for k, v in gam.state_dict().items() if not k.startswith("memory.")}
    assert {k: v.shape for k, v in fw.state_dict().items() if not k.startswith("memory.")} == shared
    assert isinstance(fw.memory, FastWeightMemory)
    with pytest.raises(GamlabError, match="read earlier tokens, not memory slots"):
        slot_table(build_model("gam-fw", tiny()), [torch.arange(8)], layer=0)
    assert probe(build_model("gam-fw", tiny()), torch.arange(8)).read_weights.shape == (2, 4, 8, 8)
