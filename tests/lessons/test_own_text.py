"""Lessons 05 and 06 on a student's own text file: Lesson 5 races on it, Lesson 6 opens the GAM
that race trained (not the stories' shipped GAM), and what they print comes from that text.

Fast mode, in a temporary folder standing for a Colab session (no checkout above it, so the
runs go to ./runs). The text is real prose that every Python has: the language reference's
topics (pydoc_data), written out as a local .txt file.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
ENV = {"GAMLAB_FAST": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
       "GAMLAB_WIDGETS": "static", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def run_lesson(name: str, dataset: Path, cwd: Path, monkeypatch) -> str:
    """Lesson `name` with its DATASET line set to `dataset`, run in `cwd`: every printed line."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("DATASET = ") or
             "\nDATASET = " in c.source]
    assert len(cells) == 1, f"{name}: one cell sets DATASET"
    before = cells[0].source
    cells[0].source = before.replace('DATASET = "embedded"', f"DATASET = {str(dataset)!r}")
    assert cells[0].source != before
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_lesson_06_opens_the_gam_lesson_05_trained_on_your_text(tmp_path, monkeypatch):
    from pydoc_data.topics import topics

    text = tmp_path / "reference.txt"
    text.write_text("\n\n".join(topics.values()), encoding="utf-8")
    cwd = tmp_path / "notebooks"
    cwd.mkdir()

    race = run_lesson("05_showdown", text, cwd, monkeypatch)
    assert "data 'reference.txt'" in race
    assert (cwd / "runs" / "showdown-fast" / "gam" / "checkpoint.pt").is_file()

    inside = run_lesson("06_inside_gam", text, cwd, monkeypatch)
    loaded = next(line for line in inside.splitlines() if line.startswith(("loaded ", "trained ")))
    assert loaded.startswith("loaded runs/showdown-fast/gam: gam,"), loaded  # Lesson 5's run, not one made here
    assert "on reference.txt" in inside  # its data named
    assert "Mia" not in inside  # the probe and the slot reading use the student's text, not the stories'
    for claim in ("memory adds ", "slot norms are ", "mean gates: local "):  # computed from that model
        assert claim in inside


@pytest.mark.slow
def test_a_text_the_models_cannot_learn_is_said_and_the_lessons_run_on(tmp_path, monkeypatch):
    """A student's text whose validation part uses letters its training part never has (as a
    small text learned by heart, or one without patterns, can do): no model beats a uniform
    guess there. On the stories that is a failed check; on the student's own text the lessons
    say it and go on, instead of stopping at an AssertionError."""
    import random

    rng = random.Random(1)

    def lines(letters: str, n: int) -> str:
        return "".join(" ".join("".join(rng.choice(letters) for _ in range(5)) for _ in range(12)) + "\n"
                       for _ in range(n))

    text = tmp_path / "shifted.txt"
    text.write_text(lines("abcdefghijklm", 900) + lines("nopqrstuvwxyz", 100))  # the last tenth validates
    cwd = tmp_path / "notebooks"
    cwd.mkdir()
    race = run_lesson("05_showdown", text, cwd, monkeypatch)
    assert "gam is no better than a uniform guess (" in race and "it has not learned" in race
    assert "The race above: shifted.txt" in race  # the lesson went on to its last reading
    inside = run_lesson("06_inside_gam", text, cwd, monkeypatch)
    assert "this GAM is no better than a uniform guess (" in inside and "memory adds " in inside
