"""Effective context from gradients: the paper's GAM sees exactly L*(k-1)+1 tokens, attention all."""

import pytest
import torch

from gamlab import ModelConfig, build_model, receptive_field
from gamlab.inspection.context import context_profile, effective_length


def config(**changes):
    return ModelConfig.preset("tiny", **{"dropout": 0.0, "block_size": 48, **changes})


@pytest.mark.parametrize("L,k", [(2, 3), (3, 4), (1, 5)])
def test_paper_gam_sees_exactly_its_receptive_field(L, k):
    torch.manual_seed(0)
    model = build_model("gam", config(n_layer=L, conv_kernel=k))
    idx = torch.randint(0, 256, (2, 48))
    profile = context_profile(model, idx)
    reach = receptive_field(L, k)  # lags 0 .. reach-1
    assert profile.shape == (48,)
    assert torch.all(profile[:reach] > 0)
    assert torch.all(profile[reach:] == 0)  # exactly zero: nothing else mixes tokens
    assert effective_length(profile, 1.0) == reach


@pytest.mark.parametrize("name", ["transformer", "gam-fw", "mamba"])
def test_sequence_mixers_reach_the_first_token(name):
    torch.manual_seed(0)
    model = build_model(name, config())
    profile = context_profile(model, torch.randint(0, 256, (2, 48)))
    assert torch.all(profile > 0)
    assert abs(float(profile.sum()) - 1) < 1e-9


def test_profile_at_an_earlier_position_and_training_mode_restored():
    model = build_model("gam", config()).train()
    profile = context_profile(model, torch.randint(0, 256, (1, 48)), t=3)
    assert profile.shape == (4,) and model.training
