"""The path students meet on Colab, tested here: a virtual environment with Colab's versions
(tools/colab_versions.txt), gamlab installed into it as the install cell does, then every lesson
run there in fast mode on the static widget path (issue 16).

Marked `colab`: building the environment takes minutes the first time (about 5 on 2 CPU cores,
downloads included); it is kept under test-artifacts/colab-venv and rebuilt only when
colab_versions.txt changes. `pytest -m "not colab"` leaves these out.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.colab

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "tools" / "colab_versions.txt"
VENV = Path(os.environ.get("GAMLAB_COLAB_VENV", ROOT / "test-artifacts" / "colab-venv"))
TORCH = os.environ.get("TORCH", "torch==2.13.0")  # the CPU wheel on this machine's disk (Makefile's TORCH)
PY = VENV / "bin" / "python"


def pip(*args) -> str:
    out = subprocess.run([str(PY), "-m", "pip", *args], capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def installed() -> dict[str, str]:
    return {p["name"].lower(): p["version"] for p in json.loads(pip("list", "--format=json"))}


def build_venv() -> None:
    """Colab's package set, exactly: the pins of colab_versions.txt, nothing from this machine's site-packages."""
    stamp = hashlib.sha256((VERSIONS.read_text() + TORCH + sys.version).encode()).hexdigest()
    if (VENV / "stamp").exists() and (VENV / "stamp").read_text() == stamp:
        return
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)  # isolated: no system packages
    pip("install", "-q", TORCH, "-r", str(VERSIONS))
    (VENV / "stamp").write_text(stamp)


@pytest.fixture(scope="module")
def colab():
    """(packages before, packages after) installing gamlab from this checkout into the Colab-like venv."""
    build_venv()
    before = installed()
    pip("install", "-q", str(ROOT))  # what the install cell's `%pip install "gamlab @ git+..."` does
    return before, installed()


def test_installing_gamlab_changes_nothing_already_installed(colab):
    before, after = colab
    changed = {name: (v, after.get(name)) for name, v in before.items() if name != "gamlab" and after.get(name) != v}
    assert changed == {}, f"installing gamlab changed Colab's packages: {changed}"
    assert "gamlab" in after
    assert "datasets" not in after and after["pyarrow"] == "18.1.0"  # the upgrade: no longer pulled


def test_pinned_versions_are_colabs(colab):
    """The environment really is the one the file describes (a pin pip could not honour would show here)."""
    _, after = colab
    for line in VERSIONS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert after[name.lower()] == version, line


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")))
def test_lesson_runs_on_the_colab_path(colab, notebook, tmp_path, monkeypatch):
    """Fast mode, GAMLAB_WIDGETS=static (Colab's path), the installed gamlab (not this checkout), no datasets."""
    from nbclient import NotebookClient

    kernels = tmp_path / "kernels" / "colab"
    kernels.mkdir(parents=True)
    env = {"GAMLAB_FAST": "1", "GAMLAB_WIDGETS": "static", "PYTHONPATH": "", "HF_HUB_OFFLINE": "1"}
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(PY), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python", "env": env}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    workdir = tmp_path / "work"  # not notebooks/: `import gamlab` must find the installed package
    workdir.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="colab", resources={"metadata": {"path": str(workdir)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "fast mode on" in text
    outputs = [o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    # tqdm's progress bars are ipywidgets, which Colab renders; a figure must come as plain plotly
    widgets = [d["text/plain"] for d in outputs if "application/vnd.jupyter.widget-view+json" in d]
    assert all(re.search(r"\d+%\|", t) for t in widgets), f"{notebook} sent a widget on the static path: {widgets}"
