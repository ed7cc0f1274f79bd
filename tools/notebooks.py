"""Build the lesson notebooks from their sources with jupytext, and strip outputs.

    python tools/notebooks.py build [NAME ...]   tools/lessons/NN_x.py -> notebooks/NN_x.ipynb (student)
                                                                      and notebooks/solutions/NN_x.ipynb
    python tools/notebooks.py strip [PATH ...]   clear outputs, counts and widget state in place

A source is a Python script in jupytext's percent format (`# %%` starts a code cell,
`# %% [markdown]` a markdown cell, written as one triple-quoted string so that the source reads
as plain Python). Three things are added here, from one place each:
    `# %% install`            an empty cell that becomes links.INSTALL_CELL (tools/links.py)
    the Colab and Binder badges under the first heading (tools/links.py)
    exercises: the solution is kept in the instructor notebook (notebooks/solutions/) and
    replaced by a stub in the student notebook that the README's badges open:
        lines between `# BEGIN SOLUTION` and `# END SOLUTION`  ->  `...  # your code here`
        `name = value  # SOLUTION`                             ->  `name = ...  # your answer`
    and the instructor notebook calls `exercises.check(..., strict=True)`, so that running
    it proves every exercise solvable (gamlab/exercises).
Edit the source, then build: tests/lessons/test_notebooks_meta.py checks that each notebook matches it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES, NOTEBOOKS = ROOT / "tools" / "lessons", ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
VARIANTS = ("student", "instructor")
sys.path.insert(0, str(ROOT / "tools"))  # tools/links.py, also when the tests load this file

from links import INSTALL_CELL, binder_badge, colab_badge  # noqa: E402

METADATA = {
    # ipykernel's own kernel spec (JupyterLab, Binder): JupyterLab rewrites a display name that
    # differs when it opens the notebook, and shows a lecturer's unchanged pre-run copy as modified
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
SOLUTION_LINE = re.compile(r"^(\s*[\w.\[\]\"', ]+?)\s*=\s*.+?\s*#\s*SOLUTION\s*$")
CHECK_CALL = re.compile(r"^(\s*)(exercises\.check\(.*)\)\s*$")


def student(code: str) -> str:
    """The code a student starts from: solution regions and answers replaced by stubs."""
    out, skipping = [], False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped == "# BEGIN SOLUTION":
            skipping = True
            out.append(line[: len(line) - len(line.lstrip())] + "...  # your code here")
        elif stripped == "# END SOLUTION":
            skipping = False
        elif not skipping:
            m = SOLUTION_LINE.match(line)
            out.append(f"{m.group(1)} = ...  # your answer" if m else line)
    if skipping:
        raise ValueError(f"a BEGIN SOLUTION without its END SOLUTION in:\n{code[:200]}")
    return "\n".join(out)


def instructor(code: str) -> str:
    """The solution, minus the markers; checks become strict (they raise unless right)."""
    out = []
    for line in code.splitlines():
        if line.strip() in ("# BEGIN SOLUTION", "# END SOLUTION"):
            continue
        line = re.sub(r"\s*#\s*SOLUTION\s*$", "", line)
        m = CHECK_CALL.match(line)
        out.append(f"{m.group(1)}{m.group(2)}, strict=True)" if m else line)
    return "\n".join(out)


def build(source: Path, variant: str = "student") -> nbformat.NotebookNode:
    """The notebook of one lesson source, for students (stubs) or instructors (solutions)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    parsed = jupytext.reads(source.read_text(encoding="utf-8"), fmt="py:percent")
    where = "notebooks" if variant == "student" else "notebooks/solutions"
    path = f"{where}/{source.stem}.ipynb"
    nb = nbformat.v4.new_notebook(metadata=dict(METADATA))
    for i, cell in enumerate(parsed.cells):
        body = cell.source
        if cell.cell_type == "markdown":
            if i == 0:  # the title, then the badges
                title, _, rest = body.partition("\n")
                note = "" if variant == "student" else "\n\n*Instructor version: the exercises are solved.*"
                body = f"{title}\n\n{colab_badge(path)} {binder_badge(path)}{note}\n{rest}"
            new = nbformat.v4.new_markdown_cell(body)
        else:
            if cell.metadata.get("title") == "install" or "install" in cell.metadata.get("tags", []):
                body = INSTALL_CELL
            new = nbformat.v4.new_code_cell(student(body) if variant == "student" else instructor(body))
        new.pop("id", None)  # ids change on every build; leave them out (nbformat 4.4)
        nb.cells.append(new)
    nb.nbformat_minor = 4
    return nb


def target(name: str, variant: str) -> Path:
    return (NOTEBOOKS if variant == "student" else SOLUTIONS) / f"{name}.ipynb"


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and saved widget state."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        for key in ("widgets", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    return nb


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "strip"):
        print(__doc__)
        return 2
    if argv[0] == "build":
        names = argv[1:] or [p.stem for p in sorted(SOURCES.glob("[0-9]*.py"))]
        SOLUTIONS.mkdir(exist_ok=True)
        for name in names:
            for variant in VARIANTS:
                out = target(Path(name).stem, variant)
                nbformat.write(build(SOURCES / f"{Path(name).stem}.py", variant), out)
                print(f"wrote {out.relative_to(ROOT)}")
    else:
        paths = argv[1:] or sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*.ipynb"))
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            nbformat.write(strip(nb), path)
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
