"""Write the lesson notebooks from their plain-text sources, and strip outputs.

    python tools/notebooks.py build [NAME ...]   tools/lessons/NN_x.py -> notebooks/NN_x.ipynb
    python tools/notebooks.py strip [PATH ...]   clear outputs, counts and widget state in place

A source is a Python file cut into cells by lines that start with '# %%':
    # %% [markdown]   the cell is the triple-quoted string that follows
    # %% install      the install cell, taken from gamlab.links (one place holds the repo URL)
    # %%              a code cell
The Colab and Binder badges go under the first heading, also from gamlab.links.
Edit the source, then build: tests/test_notebooks_meta.py checks that each notebook matches it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES, NOTEBOOKS = ROOT / "tools" / "lessons", ROOT / "notebooks"
sys.path.insert(0, str(ROOT))

from gamlab.links import INSTALL_CELL, binder_badge, colab_badge  # noqa: E402

METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def parse(text: str) -> list[tuple[str, str]]:
    """Source text -> [(cell_type, source)], cell_type 'markdown' or 'code'."""
    cells, kind, lines = [], None, []

    def close():
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = body.strip()
            if not (body.startswith('"""') and body.endswith('"""')):
                raise ValueError(f"markdown cell must be one triple-quoted string:\n{body[:200]}")
            body = body[3:-3].strip("\n")
        if kind is not None:
            cells.append((kind, body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            close()
            tag, lines = line[4:].strip(), []
            if tag == "[markdown]":
                kind = "markdown"
            elif tag == "install":
                kind = "code"
                lines = [INSTALL_CELL]
            else:
                kind = "code"
        elif kind is not None:
            lines.append(line)
    close()
    return cells


def build(source: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata=dict(METADATA))
    cells = parse(source.read_text(encoding="utf-8"))
    path = f"notebooks/{source.stem}.ipynb"
    title, _, rest = cells[0][1].partition("\n")  # the first cell is markdown, starting with the title
    cells[0] = ("markdown", f"{title}\n\n{colab_badge(path)} {binder_badge(path)}\n{rest}")
    for kind, body in cells:
        cell = nbformat.v4.new_markdown_cell(body) if kind == "markdown" else nbformat.v4.new_code_cell(body)
        cell.pop("id", None)  # ids change on every build; leave them out (nbformat 4.4)
        nb.cells.append(cell)
    nb.nbformat_minor = 4
    return nb


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
        for name in names:
            out = NOTEBOOKS / f"{Path(name).stem}.ipynb"
            nbformat.write(build(SOURCES / f"{Path(name).stem}.py"), out)
            print(f"wrote {out.relative_to(ROOT)}")
    else:
        for path in argv[1:] or sorted(NOTEBOOKS.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            nbformat.write(strip(nb), path)
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
