"""Where user text enters gamlab: every path (a file, a folder of .txt files, hub rows, a string
from a notebook) passes through here, so all of them read text the same way.

    file bytes --read_text_file--> str  (strict UTF-8: not guessed, never silently replaced)
    any str    --as_text-------->  str  (no leading byte-order mark, "\n" line ends, no NUL)

A leading byte-order mark (U+FEFF) is not text: a file saved with one trains the same model as
the file saved without it. Each fault is one GamlabError sentence that names the file (or the
row) and what to do.

Used in notebooks/05_showdown.ipynb (through gamlab.experiments.runs).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import GamlabError

BOM = "\ufeff"
RESAVE = "re-save it as UTF-8 (for example `iconv -f latin1 -t utf-8 OLD > NEW`, or your editor's Save as UTF-8)"
# Byte-order marks of encodings that are not UTF-8: (bytes, name), UTF-32 first (its LE mark starts like UTF-16's).
OTHER_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def as_text(text, what: str = "the text") -> str:
    """`text` as gamlab reads it: a str with no leading BOM, "\\r\\n" and "\\r" turned into "\\n".

    what: how messages name the text ("'notes.txt'", "TinyStories train row 7").
    Raises GamlabError if text is not a str (bytes: decode them first), or holds a NUL
    character or an unpaired surrogate (the marks of text decoded with the wrong codec).
    """
    if not isinstance(text, str):
        hint = ("decode it first (data.decode('utf-8')) or give the file's path" if isinstance(text, (bytes, bytearray))
                else "give a str")
        raise GamlabError(f"{what} is a {type(text).__name__}, not text; {hint}.")
    if text.startswith(BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # what Python's universal newlines do
    nul = text.find("\x00")
    if nul >= 0:
        raise GamlabError(f"{what} holds a NUL character at character {nul}; remove it (text full of them "
                          f"was read from a UTF-16 or binary file: re-save that file as UTF-8).")
    bad = _SURROGATE.search(text)
    if bad:
        raise GamlabError(f"{what} holds an unpaired surrogate (U+{ord(bad.group()):04X}) at character {bad.start()}, "
                          f"a byte that was not UTF-8 when it was read; read the file as UTF-8 (or {RESAVE}).")
    return text


def read_text_file(path) -> str:
    """The text of a UTF-8 file, through as_text (a leading BOM dropped, line ends "\\n").

    Raises GamlabError, naming the file, if it cannot be read, is empty or only whitespace,
    carries a UTF-16/UTF-32 byte-order mark or NUL bytes, or is not UTF-8 (with the byte offset).
    """
    name = repr(str(path))
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GamlabError(f"could not read {name} ({exc.strerror or type(exc).__name__}); "
                          f"check that it is a readable file.") from None
    if not data:
        raise GamlabError(f"{name} is empty (0 bytes); give a file that holds text (in a folder: fill or delete it).")
    for mark, codec in OTHER_BOMS:
        if data.startswith(mark):
            raise GamlabError(f"{name} is {codec} (it starts with a {codec} byte-order mark), not UTF-8; "
                              f"re-save it as UTF-8 (for example `iconv -f {codec.lower()} -t utf-8 OLD > NEW`).")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise GamlabError(f"{name} holds a NUL byte at byte offset {nul}, so it is not UTF-8 text "
                          f"(UTF-16 without a byte-order mark, or a binary file); {RESAVE}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise GamlabError(f"{name} is not UTF-8: byte 0x{data[exc.start]:02X} at byte offset {exc.start} "
                          f"(line {line}) is not valid UTF-8; {RESAVE}.") from None
    text = as_text(text, name)
    if text.isspace() or not text:
        raise GamlabError(f"{name} holds only whitespace; give a file that holds text "
                          f"(in a folder: fill or delete it).")
    return text


def text_lines(text: str) -> list[str]:
    """The lines of text read by as_text (split on "\\n" only; a final "\\n" ends the last line)."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines
