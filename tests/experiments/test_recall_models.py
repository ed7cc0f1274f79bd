"""The recall models shipped as package data (gamlab/experiments/recall_models.py): they load with
weights_only=True, have learned MQAR as the saved grid says, and another grid is refused."""

import pytest
import torch

from gamlab import GamlabError
from gamlab.experiments.recall import RecallGrid, accuracy
from gamlab.experiments.recall_models import PATH, load_recall_models


def test_the_shipped_models_load_and_answer_as_trained_models():
    grid = RecallGrid()
    trained = load_recall_models(grid)
    assert {"gam-fw", "transformer"} <= set(trained) and PATH.stat().st_size < 600_000
    four = grid.tasks(64)[0]  # 4 pairs
    chance = 1 / 31
    acc = {name: accuracy(per_len[64], four, 64, 7, torch.device("cpu")) for name, per_len in trained.items()}
    assert acc["transformer"] > 0.9  # attention finds every pair
    assert acc["gam-fw"] > 5 * chance  # the memory the sequence writes holds some
    assert not any(m.training for per_len in trained.values() for m in per_len.values())


def test_another_grid_or_a_missing_file_is_refused(tmp_path):
    with pytest.raises(GamlabError, match=r"trained on another grid \(steps differ\)") as err:
        load_recall_models(RecallGrid(steps=10))
    assert "\n" not in str(err.value)
    with pytest.raises(GamlabError, match="no saved recall models at"):
        load_recall_models(RecallGrid(), tmp_path / "none.pt")
