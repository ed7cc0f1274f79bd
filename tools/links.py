"""The one place that holds the repository's address; badges and install cells derive from it.

Repository tooling, not part of the gamlab package (tools/notebooks.py and
tests/lessons/test_notebooks_meta.py import it). The repository is not public yet: change REPO
(owner/name) here, then run `python tools/links.py` to rewrite the README's notebook table and
every notebook's install cell. tests/lessons/test_notebooks_meta.py fails while anything disagrees
with this file.
"""

from __future__ import annotations

REPO = "gamlab-dev/gamlab"  # owner/name on GitHub
BRANCH = "main"
REPO_URL = f"https://github.com/{REPO}"
PIP_SPEC = f"gamlab @ git+{REPO_URL}.git"


def colab_url(notebook: str) -> str:
    """notebook: a path such as 'notebooks/01_local_path.ipynb'."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{notebook}"


def binder_url(notebook: str) -> str:
    return f"https://mybinder.org/v2/gh/{REPO}/{BRANCH}?labpath={notebook}"


def colab_badge(notebook: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def binder_badge(notebook: str) -> str:
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(notebook)})"


# --- install cells and the README's notebook table, derived from the address above ----------

INSTALL_CELL = f'''# Install gamlab only where it is missing (Colab): pip then adds only what is
# missing too, so the torch, numpy, pyarrow, ipywidgets and datasets already
# installed are kept.
try:
    import gamlab
except ImportError:
    %pip install -q "{PIP_SPEC}"
    import gamlab'''

TABLE_START, TABLE_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"


def notebook_table(notebooks) -> str:
    """Markdown table of lessons. notebooks: (path, title) pairs, e.g. ("notebooks/01_x.ipynb", "The local path")."""
    lines = ["| Notebook | Lesson | Colab | Binder |", "|---|---|---|---|"]
    for path, title in notebooks:
        name = path.rsplit("/", 1)[-1]
        lines.append(f"| [`{name}`]({path}) | {title} | {colab_badge(path)} | {binder_badge(path)} |")
    return "\n".join(lines) + "\n"


def notebook_title(path) -> str:
    """The first markdown heading of a notebook, without the leading '#' and any 'Lesson N:' prefix."""
    import json
    import re

    with open(path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    return re.sub(r"^Lesson \d+\s*[:.-]\s*", "", line.lstrip("#").strip())
    return path.rsplit("/", 1)[-1]


def replace_between_markers(text: str, block: str) -> str:
    """text with what lies between TABLE_START and TABLE_END replaced by block."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"markers {TABLE_START} ... {TABLE_END} not found in order")
    return text[: start + len(TABLE_START)] + "\n" + block + text[end:]


def sync_notebook(path, notebook: str) -> bool:
    """Rewrite a notebook's install cell (its first code cell) to INSTALL_CELL and its Colab and
    Binder links to those of `notebook` (its path in the repository). True if anything changed."""
    import json
    import re

    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    before = json.dumps(nb, sort_keys=True)
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["source"] = INSTALL_CELL.splitlines(keepends=True)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            text = re.sub(r"https://colab\.research\.google\.com/github/[^)\s\"]+", colab_url(notebook), text)
            text = re.sub(r"https://mybinder\.org/v2/gh/[^)\s\"]+", binder_url(notebook), text)
            cell["source"] = text.splitlines(keepends=True)
    if json.dumps(nb, sort_keys=True) == before:
        return False
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    return True


def main(root=None) -> None:
    """`python tools/links.py`: rewrite install cells and badges, and README's notebook table.

    root: the repository (default: the one this file is in), so it runs from any folder."""
    from pathlib import Path

    root_path = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    notebooks = sorted(p.relative_to(root_path).as_posix() for p in root_path.glob("notebooks/[0-9]*.ipynb"))
    solutions = sorted(p.relative_to(root_path).as_posix() for p in root_path.glob("notebooks/solutions/[0-9]*.ipynb"))
    for nb in notebooks + solutions:  # the README's table lists the student notebooks only
        if sync_notebook(root_path / nb, nb):
            print(f"updated install cell and links: {nb}")
    table = notebook_table([(nb, notebook_title(root_path / nb)) for nb in notebooks])
    readme = root_path / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if TABLE_START in text and replace_between_markers(text, table) != text:
        readme.write_text(replace_between_markers(text, table), encoding="utf-8")
        print("updated README.md notebook table")
    print(table)


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description="Rewrite every notebook's install cell and badges, and README's "
                                        "notebook table, from this file's repository address.").parse_args()
    main()
