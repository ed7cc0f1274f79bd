"""The one place that holds the repository's address; badges and install cells derive from it.

The repository is not public yet: change REPO (owner/name) here, then run
`python -m gamlab.links` to rewrite the README's notebook table and every notebook's install
cell. tests/test_links.py fails while anything disagrees with this file.
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
