"""Every lesson source compiles cleanly and its code fits a projector.

LaTeX in markdown cells is written as raw strings (r\"\"\"...\"\"\", as jupytext writes them), so
`python -W error` accepts the source; at 150% zoom on 1280x800 about 83 characters of code are
visible, so no code line of a built notebook (student or instructor) is longer than 80.
"""

import warnings
from pathlib import Path

import pytest
from test_notebooks_meta import _builder  # the notebook builder, loaded from tools/notebooks.py

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "tools" / "lessons").glob("0[0-9]_*.py"))
WIDTH = 80


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_lesson_source_compiles_with_warnings_as_errors(source):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an invalid escape such as "\s" is a SyntaxWarning
        compile(source.read_text(encoding="utf-8"), str(source), "exec")


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_no_code_line_is_wider_than_a_projector_shows(source):
    b = _builder()
    long = []
    for variant in ("student", "instructor"):
        for cell in b.build(source, variant).cells:
            if cell.cell_type == "code":
                long += [line for line in cell.source.splitlines() if len(line) > WIDTH]
    long = list(dict.fromkeys(long))
    assert not long, f"{source.stem}: {len(long)} code lines over {WIDTH} characters, e.g.\n" + "\n".join(long[:5])


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_lessons_print_through_say_and_their_pseudo_code_fits(source):
    """A printed line over 80 characters wraps mid-word at 150% zoom ("300 ste/ps"): every
    lesson cell prints through gamlab.inspection.text.say, which breaks lines at spaces. An
    indented code block in markdown does not wrap at all in some front ends, and wraps at about
    75 characters in JupyterLab at 150%: at most 70 there, indentation included."""
    b = _builder()
    for cell in b.build(source, "instructor").cells:
        if cell.cell_type == "code":
            assert "print(" not in cell.source, f"{source.stem}: print( in a code cell, use say(\n{cell.source}"
        elif cell.cell_type == "markdown":
            block = [line for line in cell.source.splitlines() if line.startswith("    ") and line.strip()]
            long = [line for line in block if len(line) > 70 and not line.lstrip().startswith(("-", "*", "<"))]
            assert not long, f"{source.stem}: pseudo-code lines over 70 characters:\n" + "\n".join(long)
