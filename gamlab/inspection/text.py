"""Printed lines for a notebook: at 150% zoom on a 1280 x 800 screen a notebook shows about 80
characters of output, and longer lines wrap mid-word ("300 ste/ps"). `say` prints like print,
with each long line broken at spaces instead. Used by every lesson's printing cells; the
command line prints its own lines unchanged (a terminal is as wide as its user makes it)."""

from __future__ import annotations

import textwrap

WIDTH = 80  # characters of output visible at 150% zoom on 1280 x 800


def wrap(text: str, width: int = WIDTH) -> str:
    """`text` with every line longer than `width` characters broken at spaces, its continuation
    lines indented by two spaces; shorter lines (a table's rows) stay as they are. A word longer
    than `width` (a path, a sample without spaces) stays whole on a line of its own: never split."""
    return "\n".join(line if len(line) <= width else _fill(line, width) for line in text.split("\n"))


GLUE = "\x00"  # a character textwrap does not break at, standing for a space that must not break


def _fill(line: str, width: int) -> str:
    """One long line, filled; its last two words kept together where they fit on a continuation
    line, so that a short last word (a result such as "0.602") never stands alone as a stray."""
    head, _, last = line.rpartition(" ")
    prev = head.rpartition(" ")[2]
    if prev and GLUE not in line and len(prev) + 1 + len(last) <= width - 2:
        line = head + GLUE + last
    return textwrap.fill(line, width, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False).replace(GLUE, " ")


def say(*parts, sep: str = " ", width: int = WIDTH) -> None:
    """print(*parts, sep=sep), each line wrapped at word boundaries to `width` columns (wrap)."""
    print(wrap(sep.join(str(p) for p in parts), width))
