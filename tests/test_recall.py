"""The recall grid and `gamlab recall`, on a grid small enough for CI."""

import json

import pytest

from gamlab import GamlabError
from gamlab.cli import main
from gamlab.plots import context_profiles, recall_heatmaps, recall_predictions
from gamlab.recall import RecallGrid, format_table, run_grid


def test_grid_runs_and_scores_every_cell():
    grid = RecallGrid(models=("gam", "gam-fw"), lengths=(24,), pairs=(2, 3), steps=5, eval_sequences=16)
    res = run_grid(grid, progress=None)
    for name in ("gam", "gam-fw"):
        assert len(res["accuracy"][name]) == 1 and len(res["accuracy"][name][0]) == 2
        assert all(0.0 <= a <= 1.0 for a in res["accuracy"][name][0])
        assert res["params"][name] > 0
    assert "| gam-fw |" in format_table(res)
    fig = recall_heatmaps(res)
    assert len(fig.data) == 2 and fig.data[0].z.shape == (1, 2)


def test_bad_grid_is_one_clear_error():
    with pytest.raises(GamlabError, match="Unknown model"):
        RecallGrid(models=("gpt9",))
    with pytest.raises(GamlabError, match="seq_len"):
        RecallGrid(lengths=(16,), pairs=(16,))


def test_cli_writes_results_table_and_heatmap(tmp_path, capsys):
    rc = main(["recall", "--fast", "--models", "gam,transformer", "--steps", "3", "--out", str(tmp_path)])
    assert rc == 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert set(res["accuracy"]) == {"gam", "transformer"}
    assert (tmp_path / "heatmap.html").stat().st_size > 1000
    assert "| transformer |" in capsys.readouterr().out
    assert main(["recall", "--fast", "--lengths", "8", "--pairs", "9", "--out", str(tmp_path)]) == 2


def test_context_and_prediction_figures():
    import torch
    fig = context_profiles({"gam": torch.tensor([0.5, 0.5, 0.0]), "transformer": torch.ones(3) / 3}, reach=2)
    assert len(fig.data) == 2
    x = torch.tensor([2, 10, 3, 11, 0, 3, 2])
    y = torch.full((7,), -100)
    y[5], y[6] = 11, 10
    pred = {"gam": torch.zeros(7, dtype=torch.long), "gam-fw": y.clamp(min=0)}
    fig = recall_predictions(x, y, pred, read_weights=torch.eye(7))
    assert len(fig.layout.updatemenus[0].buttons) == 2  # one view per query
    colors = fig.layout.updatemenus[0].buttons[1].args[0]["marker.color"][0]
    assert colors[0] == "orange" and colors[1] == "seagreen"  # query 2 asks key 2, given at position 0
