"""A GamlabError in a notebook reads as one line, as on the command line (errors.GamlabError).

Executed in a real kernel (nbclient), as a student's cell runs: the error output's traceback is
the message alone; any other exception keeps IPython's full traceback.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # IPython colours the traceback


def run_cell(source: str) -> dict:
    """The error output of a one-cell notebook that runs `source`, and its traceback's lines uncoloured."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    return error, [ANSI.sub("", line) for line in error.traceback]


def test_a_gamlab_error_shows_its_sentence_and_no_traceback():
    error, traceback = run_cell("from gamlab.training.data import load_texts\nload_texts('no/such/file.txt')")
    assert error.ename == "GamlabError"
    (line,) = traceback  # one line: no frames of gamlab's code
    assert line == ("GamlabError: dataset 'no/such/file.txt' is neither a known name "
                         "(embedded, wikitext2, tinystories) nor an existing file or folder.")


def test_any_other_error_keeps_its_traceback():
    error, traceback = run_cell("def f():\n    return 1 / 0\nf()")
    assert error.ename == "ZeroDivisionError" and len(traceback) > 1
    assert any("return 1 / 0" in frame for frame in traceback)
