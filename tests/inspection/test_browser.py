"""Notebook 06's widgets in a real browser: JupyterLab on loopback, headless Chromium via Playwright.

The test copies notebooks/06_inside_gam.ipynb into a temporary root, starts JupyterLab there
(fast mode), opens the notebook, runs all cells, waits for the explorer's plotly figures to be
drawn inside the widget, then moves the layer slider and types a new text and checks that
what the retrieval heatmap shows changes each time; the saved copy of the explorer's figures
stays hidden meanwhile. A second test opens a lecturer's pre-run copy of notebook 06 (the
README's nbconvert command, fast mode: untrusted, no widget state) without running it and checks
that the explorer's saved figures are drawn from plotly's JSON, not left blank. Screenshots go
to test-artifacts/.

Needs Debian's chromium (`apt-get install chromium`) and the `playwright` Python package;
Playwright's own browser download is not used. Without them the test skips, unless
GAMLAB_REQUIRE_BROWSER=1 (CI) makes a missing browser a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_inside_gam.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("GAMLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebook 06: yields its base URL and token."""
    why = _missing()
    if why:
        if os.environ.get("GAMLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GAMLAB_REQUIRE_BROWSER=1 but {why}.")
        pytest.skip(why)
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    # Fresh user settings: no "get notified about Jupyter news?" toast over the figures.
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = dict(os.environ, GAMLAB_FAST="1", HF_HUB_OFFLINE="1", JUPYTER_CONFIG_DIR=str(root / ".cfg"),
               JUPYTER_RUNTIME_DIR=str(root / ".runtime"), JUPYTERLAB_SETTINGS_DIR=str(root / ".settings"),
               PYTHONPATH=str(ROOT))
    env.pop("GAMLAB_WIDGETS", None)  # the notebook must pick the widget path by itself
    cmd = [sys.executable, "-m", "jupyter", "lab", "--allow-root", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.open_browser=False", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={root / '.ws'}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(root / "jupyter.log", "w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited early:\n{(root / 'jupyter.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield url, token, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


# JavaScript run in the page: what the retrieval heatmap (a FigureWidget inside the explorer)
# shows right now, read from the plotly graph div's data and its drawn title.
READ_HEATMAP = """() => {
  for (const gd of document.querySelectorAll('.jupyter-widgets .js-plotly-plot')) {
    const title = gd.querySelector('.gtitle');
    if (title && title.textContent.startsWith('Retrieval weights')) {
      const z = gd.data[0].z;
      return {title: title.textContent, rows: z.length, cols: z[0].length, corner: z[0][0]};
    }
  }
  return null;
}"""

# The plotly figures drawn (with data) in the output of the explorer's cell: inside the live
# widget, and outside it (the saved copy). The cell is the one whose output names the explorer
# (the retrieval heatmap's title live, the explorer's text line in a saved copy).
READ_EXPLORER_CELL = """() => {
  for (const cell of document.querySelectorAll('.jp-CodeCell')) {
    const out = cell.querySelector('.jp-OutputArea');
    if (!out || !/Retrieval weights|Inside GAM: /.test(out.textContent)) continue;
    const drawn = [...out.querySelectorAll('.js-plotly-plot')].filter(
      gd => gd.data && gd.data.length && gd.getBoundingClientRect().height > 0);
    const inWidget = drawn.filter(gd => gd.closest('.jupyter-widgets'));
    return {inWidget: inWidget.length, outside: drawn.length - inWidget.length,
            titles: drawn.map(gd => (gd.querySelector('.gtitle') || {}).textContent || '')};
  }
  return null;
}"""


@contextlib.contextmanager
def lab_page(url: str, token: str, path: str, failure: str):
    """A headless Chromium page with the notebook at `path` open in JupyterLab (1400 x 1000); a
    screenshot named `failure` in test-artifacts/ if the block fails."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # ?reset: a fresh workspace, not the notebooks an earlier test left open
            page.goto(f"{url}/lab/tree/{path}?reset&token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            try:
                yield page
            except Exception:
                page.screenshot(path=str(ARTIFACTS / failure))
                raise
        finally:
            browser.close()


def run_all_cells(page) -> None:
    """Wait until the kernel is up (the status bar says Idle), then Run > Run All Cells."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem, .jp-Toolbar-kernelStatus')]"
        ".some(e => /Idle/.test(e.textContent) || e.getAttribute('data-status') === 'idle')",
        timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_notebook_06_widgets_in_chromium(lab):
    url, token, _ = lab
    with lab_page(url, token, NOTEBOOK.name, "inside_gam_failure.png") as page:
        run_all_cells(page)

        # The explorer is drawn: its plotly figures live inside the widget output.
        page.wait_for_function(f"() => ({READ_HEATMAP})() !== null", timeout=120_000)
        before = page.evaluate(READ_HEATMAP)
        assert before["title"].startswith("Retrieval weights, layer 0"), before
        heatmap = page.locator(".jupyter-widgets .js-plotly-plot", has_text="Retrieval weights").first
        heatmap.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "inside_gam_layer0.png"))
        page.wait_for_function(f"() => ({READ_EXPLORER_CELL})().inWidget === 6", timeout=60_000)
        cell = page.evaluate(READ_EXPLORER_CELL)  # the live explorer only: its saved copy is hidden
        assert cell["outside"] == 0, cell

        # Move the layer slider one step with the keyboard (continuous_update=False sends
        # the value on release, as a keyboard step does).
        handle = page.locator(".widget-slider .noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => ({READ_HEATMAP})().title.includes('layer 1')", timeout=30_000)
        after = page.evaluate(READ_HEATMAP)
        assert after["rows"] == before["rows"] and after["corner"] != before["corner"], (before, after)
        heatmap.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "inside_gam_layer1.png"))

        # Type a new, shorter text and press Enter: the model runs again, the heatmap has
        # one row per token of the new text.
        box = page.locator(".widget-text input[type=text]").first
        box.scroll_into_view_if_needed()
        box.fill("The cat sat.")
        box.press("Enter")
        page.wait_for_function(f"() => ({READ_HEATMAP})().rows !== {after['rows']}", timeout=30_000)
        typed = page.evaluate(READ_HEATMAP)
        assert 0 < typed["rows"] < after["rows"], typed
        page.locator(".jupyter-widgets .js-plotly-plot").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "inside_gam_text.png"))


def _readme_command(name: str) -> list[str]:
    """tests/lessons/test_prerun.py's reading of the README's pre-run command (one copy of it)."""
    spec = importlib.util.spec_from_file_location("_prerun", ROOT / "tests" / "lessons" / "test_prerun.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.readme_command(name)


@pytest.fixture(scope="module")
def prerun(lab):
    """Notebook 06 pre-run with the README's command (fast mode) into the Lab's root: its path there."""
    url, token, root = lab
    (root / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, root / "notebooks")
    env = dict(os.environ, GAMLAB_FAST="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT),
               JUPYTER_CONFIG_DIR=str(root / ".cfg"), JUPYTER_DATA_DIR=str(root / ".data"))
    env.pop("GAMLAB_WIDGETS", None)  # the front end decides, as on a lecturer's machine
    done = subprocess.run(_readme_command(NOTEBOOK.stem), cwd=root, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return f"notebooks/{NOTEBOOK.stem}_prerun.ipynb"


def test_a_prerun_copy_of_notebook_06_draws_its_explorer_in_jupyterlab(lab, prerun):
    """What a first reader checked by eye: opened, not run, the explorer's six views are drawn
    (JupyterLab draws their plotly JSON; untrusted HTML would run no script and stay blank)."""
    url, token, _ = lab
    with lab_page(url, token, prerun, "inside_gam_prerun_failure.png") as page:
        page.wait_for_function(f"() => ({READ_EXPLORER_CELL})() !== null", timeout=60_000)
        page.locator(".jp-OutputArea", has_text="Inside GAM: ").first.scroll_into_view_if_needed()
        page.wait_for_function(f"() => ({READ_EXPLORER_CELL})().outside >= 6", timeout=60_000)
        cell = page.evaluate(READ_EXPLORER_CELL)
        assert cell["inWidget"] == 0 and cell["outside"] == 6, cell  # no live widget: the saved copy
        assert any(t.startswith("Retrieval weights, layer 0") for t in cell["titles"]), cell
        page.screenshot(path=str(ARTIFACTS / "inside_gam_prerun.png"))
        # opened and only read, it is not modified (its kernel spec's name is the one JupyterLab finds)
        # (the workspace may reopen the live test's notebook, modified by its run: only this tab counts)
        tab = page.locator(".lm-TabBar-tab", has_text=Path(prerun).name).first
        assert "jp-mod-dirty" not in tab.get_attribute("class"), "JupyterLab shows the unchanged copy as modified"


STATIC_LOSS = """from gamlab.inspection.live_loss import LiveLoss
live = LiveLoss(["gam"], unigram=3.0, mode="static")
display(live)
history = []
for step in (10, 20, 30):
    history.append({"step": step, "train_loss": 3 - step / 20, "val_loss": 3 - step / 25})
    live.update("gam", history)"""


def test_a_plain_loss_chart_redraws_in_jupyterlab(lab):
    """LiveLoss's static path (Colab's, and lesson 05's replay) updates one output in place;
    JupyterLab hands the update to plotly's renderer, which drew once and ignored later data:
    the chart stayed empty. Each curve must show its three evaluations."""
    import nbformat

    url, token, root = lab
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(STATIC_LOSS)])
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nbformat.write(nb, root / "static_loss.ipynb")
    with lab_page(url, token, "static_loss.ipynb", "static_loss_failure.png") as page:
        run_all_cells(page)
        # this notebook's figures only (the workspace may reopen the other tests' notebooks, hidden)
        points = ("() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot')]"
                  ".map(gd => gd.data.map(d => (d.x || []).length))")
        page.wait_for_function(f"() => ({points})().length === 1 && ({points})()[0][0] === 3", timeout=60_000)
        assert page.evaluate(points) == [[3, 3]]  # gam's validation and training curves
