"""Long-range context use: exactly zero beyond GAM's reach, measurable for the Transformer."""

import pytest
import torch
import torch.nn.functional as F

from gamlab import GamlabError, ModelConfig, build_model
from gamlab.inspection.context_use import context_use

GAMS = ["gam", "gam-sum", "gam-local", "gam-global", "gam-local-nogate", "gam-global-nogate"]


def small(name, seed=0, **changes):
    torch.manual_seed(seed)
    return build_model(name, ModelConfig.preset("tiny", **{"dropout": 0.0, "block_size": 24, **changes}))


def stream(n=400, seed=1):
    return torch.randint(0, 256, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", GAMS)
def test_gam_gains_nothing_beyond_its_reach(name):
    model = small(name)
    with torch.no_grad():  # non-trivial biases and gates, so a hidden path to far tokens would show
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    use = context_use(model, stream(), n_blocks=2)
    assert use.reach == 5  # tiny: 2 layers, kernel 3
    assert use.gain == pytest.approx(0.0, abs=1e-6)
    assert use.by_distance[use.reach:].abs().max() <= 1e-6
    assert use.by_distance[0].abs() > 1e-4  # swapping x_t itself does change the prediction
    if "global" not in name:  # with the convolution the reach is tight: lag R - 1 still counts
        assert use.by_distance[use.reach - 1].abs() > 1e-4


@pytest.mark.parametrize("name", ["gam-global", "gam-global-nogate"])
def test_without_the_convolution_gam_sees_only_the_current_token(name):
    use = context_use(small(name), stream(), reach=1, n_blocks=2)
    assert use.gain == pytest.approx(0.0, abs=1e-6)


def test_a_transformer_uses_context_beyond_gams_reach():
    use = context_use(small("transformer"), stream(), n_blocks=2)
    assert use.reach == 5 and use.n == 2 * (24 - 5)
    assert abs(use.gain) > 1e-4  # random init, eval mode, seeded: the far tokens move the loss
    assert use.by_distance[5:].abs().max() > 1e-4


def test_gain_is_the_loss_difference_of_the_definition():
    """One block and its donor (a stream of exactly 2 * (T + 1) tokens), every position by hand."""
    T, R = 10, 3
    model = small("transformer", block_size=T).eval()
    ids = stream(2 * (T + 1))
    x, y, donor = ids[:T], ids[1:T + 1], ids[T + 1:2 * T + 1]
    with torch.no_grad():
        def loss_at(inp, t):
            return F.cross_entropy(model(inp[None])[0][0, t], y[t]).item()

        deltas = []
        for t in range(R, T):
            swapped = torch.cat([donor[:t - R + 1], x[t - R + 1:]])  # tokens at lag >= R from t
            deltas.append(loss_at(swapped, t) - loss_at(x, t))
    use = context_use(model, ids, reach=R, n_blocks=1, batch_size=4)
    assert use.n == T - R
    assert use.gain == pytest.approx(sum(deltas) / len(deltas), abs=1e-6)


def test_counts_positions_and_restores_the_mode():
    model = small("gam").train()
    use = context_use(model, stream(), n_blocks=3, t0=8)
    T = 24
    assert model.training
    assert use.by_distance.shape == use.counts.shape == (T,)
    assert use.counts.tolist() == [3 * (T - max(d, 8)) for d in range(T)]
    assert use.n == use.counts[5]


@pytest.mark.parametrize("kwargs, words", [
    (dict(ids=torch.zeros(2, 50, dtype=torch.long)), "1-D stream of integer token ids"),
    (dict(ids=torch.zeros(30, dtype=torch.long)), "fewer than the 50 needed"),
    (dict(reach=24), "reach 24 leaves no context to swap"),
    (dict(t0=2), "t0=2 must be in \\[5, 24\\)"),
    (dict(block_size=25), "block_size 25 must be between 1 and the model's block_size 24"),
    (dict(batch_size=0), "n_blocks and batch_size must be positive"),
])
def test_mistakes_are_one_clear_sentence(kwargs, words):
    kwargs = {"ids": stream(), **kwargs}
    with pytest.raises(GamlabError, match=words):
        context_use(small("gam"), **kwargs)


def test_fewer_cuts_sample_the_same_measure():
    model = small("transformer")
    full, every = context_use(model, stream(), n_blocks=2), context_use(model, stream(), n_blocks=2, n_cuts=24)
    assert torch.allclose(full.by_distance, every.by_distance, atol=1e-6) and full.n == every.n
    few = context_use(model, stream(), n_blocks=2, n_cuts=6)  # cuts at 1, 6, 10, 15, 19, 24
    assert few.n < full.n and few.n == 2 * 5  # the cuts whose lag-R position t = c + R - 1 lies inside the block
    assert torch.isfinite(few.by_distance[5:20]).all()
    gam = context_use(small("gam"), stream(), n_blocks=2, n_cuts=6)
    assert gam.gain == pytest.approx(0.0, abs=1e-6)


def test_cuts_out_of_range_are_one_sentence():
    with pytest.raises(GamlabError, match="n_cuts must be between 1 and the block size 24"):
        context_use(small("gam"), stream(), n_cuts=0)
