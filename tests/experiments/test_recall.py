"""The recall grid and `gamlab recall`, on a grid small enough for CI."""

import json

import pytest

from gamlab import GamlabError
from gamlab.cli import main
from gamlab.experiments.recall import RecallGrid, format_table, run_grid
from gamlab.inspection.plots import context_profiles, recall_heatmaps, recall_predictions
from gamlab.training.tasks import IGNORE, MQAR


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
    fig = recall_predictions(x, y, pred, read_weights=torch.eye(7), **MQAR(seq_len=7, n_pairs=2).positions(x, y))
    assert len(fig.layout.updatemenus[0].buttons) == 2  # one view per query
    colors = fig.layout.updatemenus[0].buttons[1].args[0]["marker.color"][0]
    assert colors[0] == "orange" and colors[1] == "seagreen"  # query 2 asks key 2, given at position 0


def test_mqar_says_where_queries_keys_and_values_sit():
    """The task, not the plot, knows its layout: each query repeats a key, its value follows the key."""
    import torch
    task = MQAR(seq_len=24, n_pairs=4, vocab_size=20)
    idx, targets = task.sample(3, generator=0)
    for row in range(3):
        where = task.positions(idx[row], targets[row])
        assert torch.equal(where["queries"], torch.nonzero(targets[row] != IGNORE).flatten())
        assert torch.equal(idx[row][where["keys"]], idx[row][where["queries"]])  # the key the query repeats
        assert torch.equal(idx[row][where["values"]], targets[row][where["queries"]])  # the value it asks for
        assert torch.equal(where["values"], where["keys"] + 1) and bool((where["keys"] % 2 == 0).all())
    broken = idx[0].clone()
    broken[where["queries"][0]] = 1  # a query that repeats no key
    with pytest.raises(GamlabError, match="none of the 4 keys"):
        task.positions(broken, targets[0])
    with pytest.raises(GamlabError, match="one sequence"):
        task.positions(idx, targets)


def test_recall_predictions_marks_only_the_positions_it_is_given():
    import torch
    x, y = torch.tensor([2, 10, 3, 11, 0, 3, 2]), torch.full((7,), IGNORE)
    y[5], y[6] = 11, 10
    fig = recall_predictions(x, y, {"gam": y.clamp(min=0)}, queries=[5, 6], read_weights=torch.eye(7))
    colors = fig.layout.updatemenus[0].buttons[1].args[0]["marker.color"][0]
    assert set(colors) == {"lightgrey", "steelblue"} and colors[6] == "steelblue"  # no keys given: none marked
    assert "MQAR" not in fig.layout.title.text and "orange" not in fig.layout.xaxis2.title.text
