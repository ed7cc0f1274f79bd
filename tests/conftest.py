"""Fixtures shared across the test folders."""

import pytest

from gamlab.training.corpus import make_corpus


@pytest.fixture
def paper_text_folder(tmp_path):
    """A small offline stand-in for a paper dataset: <tmp>/wikitext2 holding train.txt (50
    embedded stories) and validation.txt (10), read like `gamlab reproduce --wikitext2 DIR`."""
    folder = tmp_path / "wikitext2"
    folder.mkdir()
    stories = make_corpus(60, seed=4).split("\n\n")
    (folder / "train.txt").write_text("\n".join(stories[:50]))
    (folder / "validation.txt").write_text("\n".join(stories[50:]))
    return folder
