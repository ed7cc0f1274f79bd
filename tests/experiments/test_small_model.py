"""The small trained GAM shipped as package data (gamlab/experiments/small_model.py): it loads
with weights_only=True, is the preset's model on today's data, has learned, and a file that no
longer matches is refused in one sentence."""

import pytest
import torch

from gamlab import GamlabError
from gamlab.experiments.small_model import PATH, load_small_gam


def test_the_shipped_gam_loads_and_has_learned():
    run = load_small_gam()
    assert run.preset == "tiny" and run.model.name == "gam" and not run.model.training
    assert PATH.stat().st_size < 400_000  # package data stays small
    blocks = run.data.chunks("val")[:8]
    with torch.no_grad():
        _, loss = run.model(blocks[:, :-1], blocks[:, 1:])
    assert float(loss) < run.data.unigram_loss() - 1.0  # well below a model that ignores context
    assert abs(float(loss) - run.history[-1]["val_loss"]) < 0.2  # float16 weights: close to the run's


def test_a_file_that_no_longer_matches_is_refused(tmp_path):
    saved = torch.load(PATH, weights_only=True)
    saved["meta"]["data_digest"] = "0" * 16
    torch.save(saved, tmp_path / "old.pt")
    with pytest.raises(GamlabError, match="data_digest differ from what preset 'tiny' builds now") as err:
        load_small_gam(tmp_path / "old.pt")
    assert "\n" not in str(err.value)
    with pytest.raises(GamlabError, match="no saved small GAM at"):
        load_small_gam(tmp_path / "none.pt")


def test_the_shipped_gam_names_itself_without_the_machines_folders():
    """A pre-run copy prints which run a lesson loaded: the package's file, not where this
    checkout happens to be (it was '/work/.../gamlab/experiments/small_gam.pt')."""
    from gamlab.experiments.runs import shown_path

    assert str(load_small_gam()).startswith("loaded gamlab/experiments/small_gam.pt: gam, ")
    assert shown_path("runs/showdown/gam") == "runs/showdown/gam"  # a run folder: as given
