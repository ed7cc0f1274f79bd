"""A dataset folder holds what tools leave beside a user's text: JupyterLab's checkpoint copies,
macOS zip metadata, caches, version control, virtual environments. gamlab reads only the user's
.txt files and says which it read and what it skipped (gamlab/training/data.py text_files)."""

import contextlib
import io

import pytest

from gamlab import GamlabError
from gamlab.training.corpus import make_corpus
from gamlab.training.data import load_texts, text_files

A = "".join(f"alpha line {i} of the first file.\n" for i in range(30))
B = "".join(f"beta line {i} of the second file.\n" for i in range(30))
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\x09\xff\xfe"

# Every kind of entry a tool writes: (path inside the dataset folder, bytes). None of it is text to learn.
TOOL_ENTRIES = {
    ".ipynb_checkpoints/a-checkpoint.txt": ("STALE " + A).encode(),  # JupyterLab's copy of an edited file
    "__MACOSX/._a.txt": APPLE_DOUBLE,  # macOS zip metadata: not UTF-8
    "._b.txt": APPLE_DOUBLE,  # AppleDouble beside the file (a copy to a FAT/exFAT drive)
    ".hidden.txt": b"hidden words\n",
    "sub/.ipynb_checkpoints/b-checkpoint.txt": b"STALE\n",
    "__pycache__/notes.txt": b"cache\n",
    ".git/description.txt": b"Unnamed repository; edit this file\n",
    ".venv/pyvenv.cfg": b"home = /usr/bin\n",
    "venv/pyvenv.cfg": b"home = /usr/bin\n",  # a virtual environment without a leading dot
    "pkg-1.0.dist-info/top_level.txt": b"pkg\n",
    "node_modules/x/LICENSE.txt": b"ISC\n",
    "$RECYCLE.BIN/old.txt": b"deleted\n",
}


def _folder(root, tool_entries):
    root.mkdir()
    (root / "a.txt").write_text(A)
    (root / "sub").mkdir()
    (root / "sub" / "b.txt").write_text(B)
    for rel, data in tool_entries.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        if rel.endswith("pyvenv.cfg"):  # a virtual environment holds packages' .txt files
            (root / rel).parent.joinpath("lib", "LICENSE.txt").parent.mkdir()
            (root / rel).parent.joinpath("lib", "LICENSE.txt").write_text("MIT License\n")
    return root


def _read(folder):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        texts = load_texts(str(folder))
    return texts, out.getvalue().strip()


def test_the_issue_examples_are_skipped_and_named(tmp_path):
    folder = _folder(tmp_path / "data", {k: TOOL_ENTRIES[k] for k in
                                         (".ipynb_checkpoints/a-checkpoint.txt", "__MACOSX/._a.txt")})
    (train, val), said = _read(folder)
    assert "STALE" not in train + val and train + val == (A + B)[: len(train)] + val
    assert said == f"read 2 .txt files under {folder} (skipped 2 hidden or tool entries: .ipynb_checkpoints/, __MACOSX/)"


@pytest.mark.parametrize("rel", list(TOOL_ENTRIES))
def test_every_kind_of_tool_entry_reads_as_the_clean_folder(tmp_path, rel):
    clean, _ = _read(_folder(tmp_path / "clean", {}))
    texts, said = _read(_folder(tmp_path / "data", {rel: TOOL_ENTRIES[rel]}))
    assert texts == clean
    assert said.startswith("read 2 .txt files under ")
    first = rel.split("/")[0]
    if rel.endswith(".cfg") and first.startswith("."):  # inside a hidden folder: skipped as hidden
        assert "(skipped 1 hidden or tool entries: .venv/)" in said
    elif rel.endswith(".cfg"):
        assert "(skipped 1 hidden or tool entries: venv/)" in said
    else:
        skipped = rel if "/" not in rel else ("sub/.ipynb_checkpoints/" if rel.startswith("sub/") else first + "/")
        assert said.endswith(f"(skipped 1 hidden or tool entries: {skipped})"), said


def test_all_of_them_at_once_and_the_files_listed(tmp_path):
    folder = _folder(tmp_path / "data", TOOL_ENTRIES)
    files, skipped = text_files(folder)
    assert files == [str(folder / "a.txt"), str(folder / "sub" / "b.txt")]
    assert len(skipped) == 12  # .venv and venv (with its LICENSE.txt) each one entry


def test_a_folder_of_only_tool_files_says_what_it_skipped(tmp_path):
    folder = tmp_path / "data"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / ".ipynb_checkpoints" / "a-checkpoint.txt").write_text(A)
    with pytest.raises(GamlabError, match=r"holds no \.txt files outside hidden and tool folders "
                                          r"\(skipped \.ipynb_checkpoints/\)"):
        load_texts(str(folder))


def test_a_hidden_folder_given_by_name_is_read(tmp_path):
    """Only what lies under the given folder is judged: the folder itself may be hidden."""
    folder = tmp_path / ".data"
    folder.mkdir()
    (folder / "a.txt").write_text(A + B)
    (train, val), said = _read(folder)
    assert said == f"read 1 .txt file under {folder}" and train + val


def test_the_cli_trains_on_the_users_files_only(tmp_path):
    from gamlab.cli import main

    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "stories.txt").write_text(make_corpus(120, seed=1))
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._stories.txt").write_bytes(APPLE_DOUBLE)  # stopped the run before
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "stories-checkpoint.txt").write_text("§¤ " * 400)  # characters the text lacks
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--model", "gam", "--fast", "--no-progress", "--steps", "2", "--dataset", str(folder),
                     "--out", str(tmp_path / "run")])
    assert code == 0
    assert "read 1 .txt file under" in out.getvalue() and "skipped 2 hidden or tool entries" in out.getvalue()
    from gamlab.training.train import load_run
    _, tok, _ = load_run(tmp_path / "run")
    assert "§" not in tok.decode(list(range(tok.vocab_size)))  # the checkpoint copy added no letters
