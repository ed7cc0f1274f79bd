"""The notebooks as files: committed clean, launchable, and consistent with tools/links.py.

Runs without a kernel. (tests run the notebooks themselves with nbval: `pytest notebooks --nbval-lax`.)
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))  # tools/ is not a package: its scripts import as top-level modules
import links  # noqa: E402  (tools/links.py)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9]*.ipynb"))  # the student notebooks, which the badges open
SOLUTIONS = sorted(ROOT.glob("notebooks/solutions/[0-9]*.ipynb"))  # the same lessons, exercises solved
ALL = NOTEBOOKS + SOLUTIONS
IDS = [p.name for p in NOTEBOOKS]
ALL_IDS = [p.relative_to(ROOT / "notebooks").as_posix() for p in ALL]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
NEVER_UPGRADE = ("torch", "numpy", "pyarrow", "ipywidgets", "datasets")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_lessons_exist():
    names = [p.stem for p in NOTEBOOKS]
    for lesson in ("00_why_linear_time", "01_local_path", "02_global_path", "03_gating", "04_gam_block"):
        assert lesson in names


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_committed_without_outputs_or_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, f"{rel(path)} holds saved widget state; run tools/notebooks.py strip"
    for i, cell in enumerate(nb.cells):
        assert "widgets" not in cell.metadata, f"{rel(path)} cell {i} holds widget state"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{rel(path)} cell {i} has outputs; run `python tools/notebooks.py strip {rel(path)}`")


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_install_cell_then_describe(path):
    cells = code_cells(nbformat.read(path, as_version=4))
    install = cells[0].source
    assert install == links.INSTALL_CELL, (
        f"{rel(path)}: the first code cell must be links.INSTALL_CELL; run `python tools/links.py`")
    assert f'%pip install -q "{links.PIP_SPEC}"' in install and "except ImportError" in install
    assert not re.search(r"(--upgrade|\s-U\b|--force-reinstall)", install)
    assert not any(re.search(rf"\b{pkg}\b", line) for pkg in NEVER_UPGRADE for line in install.splitlines()
                   if "%pip" in line), "the install cell must not name torch, numpy, pyarrow, ipywidgets or datasets"
    # say: print, wrapped at word boundaries to the 80 columns a notebook shows at 150% zoom
    assert any("say(gamlab.describe(" in c.source for c in cells[1:3]), (
        f"{rel(path)}: one of the first cells after the install cell must print gamlab.describe(device)")


def test_install_cell_installs_the_repository():
    assert links.PIP_SPEC == f"gamlab @ git+{links.REPO_URL}.git"
    assert links.REPO_URL == f"https://github.com/{links.REPO}"


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_notebook_links_agree_with_links_py(path):
    notebook = rel(path)
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for url in re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"]+", cell.source):
            assert url == links.colab_url(notebook), f"{notebook}: stale Colab link {url}"
        for url in re.findall(r"https://mybinder\.org/v2/gh/[^)\s\"]+", cell.source):
            assert url == links.binder_url(notebook), f"{notebook}: stale Binder link {url}"


def _builder():
    spec = importlib.util.spec_from_file_location("notebook_builder", ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("notebook_builder", module)
    spec.loader.exec_module(module)
    return module


SOURCED = [p for p in ALL if (ROOT / "tools" / "lessons" / f"{p.stem}.py").exists()]


def test_every_lesson_has_a_student_and_an_instructor_notebook():
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in SOLUTIONS], "run `python tools/notebooks.py build`"


@pytest.mark.parametrize("path", SOURCED, ids=[p.relative_to(ROOT / "notebooks").as_posix() for p in SOURCED])
def test_notebook_matches_its_source(path):
    variant = "instructor" if path.parent.name == "solutions" else "student"
    built = _builder().build(ROOT / "tools" / "lessons" / f"{path.stem}.py", variant)
    nb = nbformat.read(path, as_version=4)
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source) for c in built.cells], (
        f"{rel(path)} differs from tools/lessons/{path.stem}.py; edit the source and run "
        f"`python tools/notebooks.py build {path.stem}`")


def test_strip_clears_outputs_and_widget_state():
    builder = _builder()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    nb.cells[0].execution_count = 1
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb = builder.strip(nb)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None and "widgets" not in nb.metadata


def test_notebook_table_names_every_notebook_with_both_badges():
    pairs = [(rel(p), links.notebook_title(p)) for p in NOTEBOOKS]
    table = links.notebook_table(pairs)
    rows = table.strip().splitlines()[2:]
    assert len(rows) == len(NOTEBOOKS)
    for (notebook, title), row in zip(pairs, rows):
        assert links.colab_badge(notebook) in row and links.binder_badge(notebook) in row and title in row
    assert links.notebook_title(ROOT / "notebooks" / "01_local_path.ipynb") == "The local path, a causal convolution"


def test_readme_table_text_is_current():
    pairs = [(rel(p), links.notebook_title(p)) for p in NOTEBOOKS]
    table = links.notebook_table(pairs)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert links.TABLE_START in text, "README.md lost its notebook-table markers"
    assert links.replace_between_markers(text, table) == text, "README's notebook table is stale; run `python tools/links.py`"
    for url in re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"]+", text):
        assert url.startswith(f"https://colab.research.google.com/github/{links.REPO}/blob/{links.BRANCH}/"), url
    for url in re.findall(r"https://mybinder\.org/v2/gh/[^)\s\"]+", text):
        assert url.startswith(f"https://mybinder.org/v2/gh/{links.REPO}/{links.BRANCH}"), url


def test_replace_between_markers():
    text = f"intro\n{links.TABLE_START}\nold\n{links.TABLE_END}\noutro\n"
    assert links.replace_between_markers(text, "new\n") == f"intro\n{links.TABLE_START}\nnew\n{links.TABLE_END}\noutro\n"
    with pytest.raises(ValueError):
        links.replace_between_markers("no markers", "x")


# --- binder/ and environment.yml against pyproject ------------------------------------------------

def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirement_lines(lines: list[str]) -> tuple[list[str], list[Requirement], list[str]]:
    """(options such as --extra-index-url, named requirements, local installs such as '-e .[lab]')."""
    options, named, local = [], [], []
    for line in (l.strip() for l in lines):
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-e ", "--editable ", ".")):
            local.append(line)
        elif line.startswith("-"):
            options.append(line)
        else:
            named.append(Requirement(line))
    return options, named, local


def _environment_pip_lines() -> tuple[list[str], list[str]]:
    """(conda dependencies, pip lines) of environment.yml, read without a YAML library."""
    conda, pip, in_pip = [], [], False
    for raw in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.strip().startswith("- --") else raw.rstrip()
        if re.match(r"^\s*- pip:\s*$", line):
            in_pip = True
        elif re.match(r"^\s{6,}- ", line) and in_pip:
            pip.append(line.strip()[2:].strip())
        elif re.match(r"^\s{2,4}- ", line):
            in_pip = False
            conda.append(line.strip()[2:].strip())
    return conda, pip


def _lower_bound(spec: SpecifierSet) -> Version | None:
    bounds = [Version(s.version) for s in spec if s.operator in (">=", ">", "~=", "==")]
    return max(bounds) if bounds else None


def _check_pip_install(options: list[str], named: list[Requirement], local: list[str], where: str) -> None:
    project = _pyproject()
    needed = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert any(CPU_INDEX in o for o in options), f"{where}: torch must come from the CPU wheel index {CPU_INDEX}"
    names = {r.name: r for r in named}
    assert "torch" in names, f"{where}: list torch explicitly, so pip takes the CPU build before gamlab asks for torch"
    assert any(re.fullmatch(r"(-e |--editable )?\.\[lab(,[a-z]+)*\]", l) for l in local), (
        f"{where}: install gamlab from the repository with the lab extras, e.g. `-e .[lab]`")
    for name, req in names.items():
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"{where}: {req} is an exact pin"
        if name in needed:
            ours, theirs = _lower_bound(req.specifier), _lower_bound(needed[name].specifier)
            assert theirs is None or (ours is not None and ours >= theirs), (
                f"{where}: {req} allows versions below pyproject's {needed[name]}")


def test_binder_requirements_cover_pyproject():
    lines = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    _check_pip_install(*_requirement_lines(lines), where="binder/requirements.txt")
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    python = Version(runtime.removeprefix("python-"))
    assert python in SpecifierSet(_pyproject()["requires-python"]), f"binder/runtime.txt {runtime} is not supported"


def test_environment_yml_covers_pyproject():
    conda, pip = _environment_pip_lines()
    assert "pip" in conda
    python = next(Requirement(d) for d in conda if d.startswith("python"))
    assert _lower_bound(python.specifier) >= _lower_bound(SpecifierSet(_pyproject()["requires-python"]))
    _check_pip_install(*_requirement_lines(pip), where="environment.yml")


def test_pyproject_lab_extra_has_what_the_notebooks_import():
    lab = {Requirement(r).name for r in _pyproject()["optional-dependencies"]["lab"]}
    assert {"jupyterlab", "ipywidgets"} <= lab
    deps = {Requirement(r).name for r in _pyproject()["dependencies"]}
    assert {"torch", "plotly", "numpy"} <= deps
    for req in _pyproject()["dependencies"] + _pyproject()["optional-dependencies"]["lab"]:
        assert not any(s.operator in ("==", "===") for s in Requirement(req).specifier), f"exact pin in pyproject: {req}"
