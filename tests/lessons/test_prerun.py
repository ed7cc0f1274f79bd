"""A lecturer's pre-run copy, made with the README's own command, works for every lesson.

The README tells a lecturer to run `jupyter nbconvert --to notebook --execute
--ExecutePreprocessor.store_widget_state=False notebooks/NN.ipynb --output ...`. That command
runs the lesson in a kernel with no widget front end and saves no widget state, so a cell that
captured output in an `ipywidgets.Output` crashed nbclient (a KeyError, lesson 07), and a live
view without a static copy leaves a blank where its figure was. Each lesson is run here with
exactly that command (fast mode), and the saved copy must hold, for every live view and every
plotly figure, an output a viewer without a kernel draws: a PNG or plotly's HTML, and for a live
view also plotly's JSON, which JupyterLab draws in the untrusted copy (it runs no script there).
Every figure in the copy fits one screen at 150% zoom on 1280 x 800: an explicit height of at most
plots.SCREEN_HEIGHT (plotly's default, 450 px, is taller than the 413 px JupyterLab shows there)
and no width wider than the output area (673 px).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gamlab.inspection import plots
from gamlab.inspection.widgets import WIDGET_VIEW

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("0[0-7]_*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
OUTPUT_AREA = 673  # CSS px: JupyterLab's output width at 150% zoom on 1280 x 800, file browser closed


def readme_command(name: str) -> list[str]:
    """The README's pre-run command for one lesson, as a list of arguments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("`jupyter nbconvert --to notebook --execute")
    command = text[start + 1: text.index("`", start + 1)].split()
    assert command[:2] == ["jupyter", "nbconvert"] and "--ExecutePreprocessor.store_widget_state=False" in command
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or "jupyter"
    lesson = next(i for i, a in enumerate(command) if a.startswith("notebooks/"))
    out = command.index("--output") + 1
    command[lesson], command[out] = f"notebooks/{name}.ipynb", f"{name}_prerun.ipynb"
    return [jupyter, *command[1:]]


def draws_a_figure(output) -> bool:
    """Whether a viewer without a kernel or widget state draws a figure from this output."""
    data = output.get("data", {})
    return "image/png" in data or "Plotly.newPlot" in data.get("text/html", "")


def is_live_view(output) -> bool:
    """A widget view (not tqdm's progress bar, whose text is its meter, 'gam:  100%|...')."""
    data = output.get("data", {})
    return WIDGET_VIEW in data and "%|" not in data.get("text/plain", "")


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_the_readme_prerun_command_saves_a_figure_for_every_view(name, tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / "notebooks")
    env = {**os.environ, "GAMLAB_FAST": "1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("GAMLAB_WIDGETS", None)  # the front end decides, as on a lecturer's machine
    done = subprocess.run(readme_command(name), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(tmp_path / "notebooks" / f"{name}_prerun.ipynb", as_version=4)
    assert "widgets" not in nb.metadata  # saved without widget state, as the command asks
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in cells)  # every cell ran
    for cell in cells:
        for o in cell.outputs:
            if PLOTLY in o.get("data", {}):  # JupyterLab draws the mimetype; viewers, the HTML beside it
                assert draws_a_figure(o), f"{name}: a figure with no static copy:\n{cell.source[:300]}"
                layout = o.data[PLOTLY]["layout"]
                high = layout.get("height", "plotly's default, 450")
                assert 0 < layout.get("height", 0) <= plots.SCREEN_HEIGHT <= 380, \
                    f"{name}: a figure {high} px high:\n{cell.source[:300]}"
                assert layout.get("width", 0) <= OUTPUT_AREA, \
                    f"{name}: a figure {layout['width']} px wide:\n{cell.source[:300]}"
        if any(is_live_view(o) for o in cell.outputs):
            assert any(draws_a_figure(o) for o in cell.outputs), \
                f"{name}: a live view with no static figure in the saved copy:\n{cell.source[:300]}"
            copies = [o for o in cell.outputs if o.get("data", {}).get(WIDGET_VIEW, {}).get("model_id") == ""]
            assert copies and all(o.data.get(PLOTLY, {}).get("data") for o in copies), \
                f"{name}: a live view's saved copy JupyterLab cannot draw (no plotly JSON):\n{cell.source[:300]}"
