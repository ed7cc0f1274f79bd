"""gamlab.model, the library core: every model is causal, matches the paper's equations and counts."""

import math

import pytest
import torch
import torch.nn.functional as F

from gamlab import GAMBlock, GamlabError, ModelConfig, build_model, list_models
from gamlab.blocks.mamba import scan_parallel, scan_sequential
from gamlab.blocks.transformer import TransformerBlock

ALL_MODELS = list(list_models())
# The registry when blocks began to describe themselves: the tests that pin what those models
# answer (memory estimates, budget knobs) stay on them, so a new mixer is checked by the
# registry-wide tests without having to edit these.
DESCRIBED = ("gam", "gam-sum", "gam-local", "gam-global", "gam-local-nogate", "gam-global-nogate", "transformer",
             "transformer-naive", "mamba", "mamba-bare", "gam-fw")


def tiny(**changes):
    return ModelConfig.preset("tiny", **{"dropout": 0.0, **changes})


@pytest.mark.parametrize("name", ALL_MODELS)
def test_causal(name):
    torch.manual_seed(0)
    model = build_model(name, tiny()).eval()
    idx = torch.randint(0, 256, (2, 40))
    t = 17
    changed = idx.clone()
    changed[:, t + 1:] = torch.randint(0, 256, changed[:, t + 1:].shape)
    with torch.no_grad():
        a, _ = model(idx)
        b, _ = model(changed)
    assert torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-5)
    assert not torch.allclose(a[:, t + 1:], b[:, t + 1:], atol=1e-5)  # the later tokens do matter


def paper_gam_block(block, x, fusion="gated", scale=1.0):
    """The paper's equations, written out with plain tensor operations."""
    h = F.layer_norm(x, x.shape[-1:], block.norm1.weight, block.norm1.bias)
    T = x.size(1)
    local = global_ = None
    if block.conv is not None:
        w, b = block.conv.weight[:, 0, :], block.conv.bias  # (C, k), (C,)
        k = w.size(1)
        local = b.expand_as(h).clone()
        for j in range(k):  # output t sees h[t - (k-1-j)]
            shift = k - 1 - j
            shifted = torch.cat([torch.zeros_like(h[:, :shift]), h[:, : T - shift]], dim=1)
            local = local + shifted * w[:, j]
    if block.memory is not None:
        M = block.memory.slots
        global_ = torch.softmax(h @ M.T * scale, dim=-1) @ M
    if fusion == "gated":
        g = h @ block.gate.weight.T + block.gate.bias
        g_l, g_g = g[..., : x.size(-1)], g[..., x.size(-1):]
        x = x + torch.sigmoid(g_l) * local + torch.sigmoid(g_g) * global_
    elif fusion == "sum":
        x = x + local + global_
    elif fusion.endswith("-nogate"):  # the paper's one-path ablations: the path, ungated
        x = x + (local if fusion == "local-nogate" else global_)
    else:
        g = torch.sigmoid(h @ block.gate.weight.T + block.gate.bias)
        x = x + g * (local if fusion == "local" else global_)
    h2 = F.layer_norm(x, x.shape[-1:], block.norm2.weight, block.norm2.bias)
    lin1, lin2 = block.ffn[0], block.ffn[2]
    return x + F.gelu(h2 @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias


@pytest.mark.parametrize("fusion", ["gated", "sum", "local", "global", "local-nogate", "global-nogate"])
@pytest.mark.parametrize("scale_scores", [False, True])
def test_gam_block_matches_paper_equations(fusion, scale_scores):
    torch.manual_seed(1)
    config = tiny(fusion=fusion, scale_scores=scale_scores, conv_kernel=4)
    block = GAMBlock(config).eval()
    with torch.no_grad():  # non-trivial biases and norms, so a dropped term would show
        for p in block.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(3, 21, config.d_model)
    scale = 1 / math.sqrt(config.d_model) if scale_scores else 1.0
    expected = paper_gam_block(block, x, fusion, scale)
    assert torch.allclose(block(x), expected, atol=1e-5, rtol=1e-5)


def test_gam_block_public_parts():
    config = ModelConfig.preset("paper")
    block = GAMBlock(config)
    C, k, S = config.d_model, config.conv_kernel, config.n_slots
    assert block.conv.weight.shape == (C, 1, k) and block.conv.bias.shape == (C,)
    assert block.memory.slots.shape == (S, C)
    assert block.gate.in_features == C and block.gate.out_features == 2 * C
    linears = [m for m in block.ffn if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(C, 4 * C), (4 * C, C)]
    # xavier-uniform init: bound sqrt(6 / (S + C))
    assert block.memory.slots.abs().max() <= math.sqrt(6 / (S + C)) + 1e-6


def test_sdpa_equals_naive_attention():
    torch.manual_seed(2)
    config = tiny(n_head=4)
    sdpa = TransformerBlock(config.replace(attention="sdpa")).eval()
    naive = TransformerBlock(config.replace(attention="naive")).eval()
    naive.load_state_dict(sdpa.state_dict())
    x = torch.randn(2, 33, config.d_model)
    assert torch.allclose(sdpa(x), naive(x), atol=1e-5)


@pytest.mark.parametrize("T", [1, 2, 7, 16, 33, 100])
def test_parallel_scan_equals_sequential(T):
    torch.manual_seed(3)
    a = torch.rand(2, T, 5, 3)
    b = torch.randn(2, T, 5, 3)
    assert torch.allclose(scan_parallel(a, b), scan_sequential(a, b), atol=1e-5)


@pytest.mark.parametrize("residual", [True, False])
def test_mamba_parallel_equals_sequential_model(residual):
    torch.manual_seed(4)
    config = tiny(mamba_residual=residual)
    par = build_model("mamba", config.replace(mamba_scan="parallel")).eval()
    seq = build_model("mamba", config.replace(mamba_scan="sequential")).eval()
    seq.load_state_dict(par.state_dict())
    idx = torch.randint(0, 256, (2, 37))
    assert torch.allclose(par(idx)[0], seq(idx)[0], atol=1e-4)


def test_mamba_parameter_names_match_reference():
    names = {n.split("mixer.")[1] for n, _ in build_model("mamba", tiny()).named_parameters() if "mixer." in n}
    assert names == {"in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight", "dt_proj.weight",
                     "dt_proj.bias", "A_log", "D", "out_proj.weight"}


@pytest.mark.parametrize("name", ALL_MODELS)
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(5)
    model = build_model(name, tiny())
    idx = torch.randint(0, 256, (2, 24))
    _, loss = model(idx, idx)
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}: no gradient for {pname}"


def test_paper_parameter_counts():
    paper = ModelConfig.preset("paper")
    assert build_model("gam", paper).num_params() == 22_599_680
    assert build_model("transformer", paper).num_params() == 24_166_400
    assert build_model("mamba-bare", paper.replace(dt_rank=32)).num_params() == 20_504_576


def test_head_is_tied_to_embedding():
    model = build_model("gam", tiny())
    assert model.head.weight is model.tok_emb.weight


def test_generate_shapes_and_top_k():
    torch.manual_seed(6)
    model = build_model("gam", tiny()).eval()
    out = model.generate(torch.zeros(2, 3, dtype=torch.long), max_new_tokens=80, top_k=5)
    assert out.shape == (2, 83)  # longer than block_size: the context is cropped


@pytest.mark.parametrize("bad, words", [
    (dict(d_model=30, n_head=4), "divisible by n_head"),
    (dict(conv_kernel=0), "conv_kernel"),
    (dict(dropout=1.5), "dropout"),
    (dict(fusion="product"), "fusion"),
])
def test_bad_config_is_one_clear_sentence(bad, words):
    with pytest.raises(GamlabError, match=words):
        tiny(**bad)


def test_bad_inputs_are_clear():
    model = build_model("gam", tiny())
    with pytest.raises(GamlabError, match="Unknown model 'gpt'.*gam"):
        build_model("gpt", tiny())
    with pytest.raises(GamlabError, match="longer than block_size"):
        model(torch.zeros(1, 65, dtype=torch.long))
    with pytest.raises(GamlabError, match="outside the vocabulary"):
        model(torch.full((1, 4), 256))
    with pytest.raises(GamlabError, match="Unknown preset"):
        ModelConfig.preset("huge")


def test_shapes_only_counts_without_allocating():
    from gamlab.model import shapes_only

    model = shapes_only("gam", ModelConfig.preset("paper"))
    assert model.num_params() == 22_599_680
    assert all(p.device.type == "meta" for p in model.parameters())


def test_eval_mode_restores_the_models_mode_even_after_an_error():
    from gamlab.runtime import eval_mode

    model = build_model("gam", tiny()).train()
    with pytest.raises(RuntimeError):
        with eval_mode(model):
            assert not model.training
            raise RuntimeError("boom")
    assert model.training
    with eval_mode(model.eval()):
        pass
    assert not model.training


@pytest.mark.parametrize("name, count", [
    ("gam-local-nogate", 17_874_944),  # local only: no memory bank, no gate
    ("gam-global-nogate", 19_435_520),  # global only: no convolution, no gate
    ("gam-sum", 19_447_808),  # local + global, no gates
    ("gam-local", 19_450_880),  # beyond the paper: a C -> C sigmoid gate on the one path
    ("gam-global", 21_011_456),
])
def test_paper_ablation_parameter_counts(name, count):
    """The author's README: no gating for global only / sum / local only (19.4M / 19.4M / 17.9M)."""
    from gamlab.model import shapes_only

    paper = ModelConfig.preset("paper")
    assert shapes_only(name, paper).num_params() == count
    gate = paper.n_layer * (paper.d_model * paper.d_model + paper.d_model)  # one Linear(C, C) per block
    if name.endswith("-nogate"):
        assert shapes_only(name.removesuffix("-nogate"), paper).num_params() - count == gate


@pytest.mark.parametrize("name, has_conv, has_memory", [
    ("gam-local-nogate", True, False), ("gam-global-nogate", False, True), ("gam-sum", True, True)])
def test_paper_ablations_have_no_gate(name, has_conv, has_memory):
    block = build_model(name, tiny()).blocks[0]
    assert block.gate is None
    assert (block.conv is not None, block.memory is not None) == (has_conv, has_memory)


# ---------------------------------------------------------------- blocks that describe themselves

def _old_estimate(model, B, T, scan):
    """estimate_train_memory as it matched model names before blocks described themselves
    (scan: the mamba_scan of that time, "chunked" being today's optimized sequential scan)."""
    cfg = model.config
    weights = 4 * 4 * sum(p.numel() for p in model.parameters())
    acts = 34 * B * T * cfg.d_model * cfg.n_layer
    if model.name.startswith("mamba") and scan != "cuda":
        copies = {"parallel": 4 * max(1, math.ceil(math.log2(T))), "sequential": 4}.get(scan, 1)
        acts += copies * B * T * cfg.d_inner * cfg.d_state * cfg.n_layer
    if model.name == "transformer-naive":
        acts += 3 * B * cfg.n_head * T * T * cfg.n_layer
    return weights + 4 * (acts + 3 * B * T * cfg.vocab_size)


@pytest.mark.parametrize("name", DESCRIBED)
@pytest.mark.parametrize("scan", ["chunked", "parallel", "sequential"])
def test_memory_estimate_is_asked_of_the_blocks_and_unchanged(name, scan):
    from gamlab.model import shapes_only
    from gamlab.training.train import estimate_train_memory

    # the chunked scan is now the optimized form of the sequential one (gamlab.blocks.optimized)
    config, optimized = {"chunked": ("sequential", True), "parallel": ("parallel", True),
                         "sequential": ("sequential", False)}[scan]
    model = shapes_only(name, tiny(mamba_scan=config), optimized=optimized)
    for B, T in ((1, 1), (4, 64), (3, 100)):
        assert estimate_train_memory(model, B, T) == _old_estimate(model, B, T, scan)


def test_budget_knob_is_the_blocks_and_matching_uses_it():
    from gamlab.experiments.runs import matched_config
    from gamlab.model import budget_knob, shapes_only

    assert {n: budget_knob(n) for n in DESCRIBED} == {n: ("expand" if n.startswith("mamba") else None) for n in DESCRIBED}
    base = tiny()
    target = shapes_only("gam", base).num_params()
    matched = matched_config("mamba", base, target)
    counts = {e: shapes_only("mamba", base.replace(expand=e)).num_params() for e in range(1, 9)}
    assert matched.expand == min(counts, key=lambda e: abs(counts[e] - target))
    assert matched_config("transformer", base, target) == base


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_model_describes_itself(name):
    """What bench, parameter matching and the memory check ask every block: FLOPs (Block
    raises NotImplementedError without flops_per_token), a memory estimate, and a budget knob
    that is None or an integer field of ModelConfig."""
    import dataclasses

    from gamlab.experiments.bench import flops
    from gamlab.model import budget_knob, shapes_only
    from gamlab.training.train import estimate_train_memory

    assert flops(name, 16, batch=2, d_model=32, n_slots=8) > 0
    assert estimate_train_memory(shapes_only(name, tiny()), 2, 16) > 0
    knob = budget_knob(name)
    fields = {f.name: f.type for f in dataclasses.fields(ModelConfig)}
    assert knob is None or fields.get(knob) in (int, "int"), f"{name}: budget knob {knob!r} is no integer field"


def test_a_new_mixer_is_its_own_file_plus_one_registry_line(monkeypatch):
    """What the registry, bench, training's memory check and parameter matching need comes
    from the block: nothing else has to learn the new name."""
    from torch import nn

    from gamlab.blocks.block import Block
    from gamlab.experiments.bench import flops, measure_block
    from gamlab.experiments.runs import matched_config
    from gamlab.model import MODELS, ModelSpec, shapes_only
    from gamlab.training.train import estimate_train_memory

    class ShiftBlock(Block):  # "its own file": mixes each token with the one before it
        budget_knob = "d_state"

        def __init__(self, config):
            super().__init__(config)
            self.mix = nn.Linear(2 * config.d_model, config.d_model * config.d_state // 8)

        def forward(self, x):
            prev = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)  # (B, T, C)
            return x + self.mix(torch.cat([x, prev], -1))[..., :x.size(-1)]

        def flops_per_token(self, seq_len):
            return 2 * self.mix.in_features * self.mix.out_features

    monkeypatch.setitem(MODELS, "shift", ModelSpec("a toy mixer", ShiftBlock, lambda c: {}))  # the one line
    model = build_model("shift", tiny())
    assert model(torch.randint(0, 256, (2, 9)))[0].shape == (2, 9, 256)
    assert flops("shift", 16, batch=2, d_model=32, n_slots=8) == 3 * 2 * 16 * 2 * 64 * 64  # d_state 16: 64 -> 64
    assert measure_block("shift", 8, batch=2, d_model=32, n_slots=8, repeats=1, memory=False)["ms"] > 0
    assert estimate_train_memory(model, 2, 8) > 4 * 34 * 2 * 8 * 64 * 2
    target = shapes_only("shift", tiny(d_state=5)).num_params()
    assert matched_config("shift", tiny(), target).d_state == 5
