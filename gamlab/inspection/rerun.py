"""Re-running a notebook cell closes the live views its previous run made.

ipywidgets keeps every widget alive until it is closed, and a widget's observers keep the view
(its model, its tensors) alive with it, so each re-run of a cell that builds a view would keep
another copy. Each live view (the explorer, LiveLoss, LiveView) calls `replace_previous(self)`
when it is made, which closes the views the previous run of the same cell made at the same
line, and has `close()` (close_widgets) for a user to call.

Used by gamlab/inspection/widgets.py, live_view.py and live_loss.py; tested in tests/inspection/test_rerun_cells.py.
"""

from __future__ import annotations

import re
import sys
import weakref

_LIVE: dict[tuple, tuple[int, list]] = {}  # (view class, cell, line) -> (execution count, weakrefs to its views)


def close_widgets(widget) -> None:
    """Close an ipywidgets widget and every widget it holds (Box children, FigureWidgets, each
    one's Layout and Style), with their observers: ipywidgets keeps each widget alive until it
    is closed."""
    from ipywidgets import Widget

    stack, seen = [widget], set()
    while stack:
        w = stack.pop()
        if not isinstance(w, Widget) or id(w) in seen:
            continue
        seen.add(id(w))
        for value in w.trait_values().values():  # children, layout, style: widgets inside this one
            stack.extend(value if isinstance(value, (list, tuple)) else [value])
        w.unobserve_all()
        w.close()


def _creation_site() -> tuple | None:
    """(cell, line) of the notebook code that is making a view, or None outside IPython.

    The cell is the front end's cell id where the kernel gets one (JupyterLab, Notebook 7),
    else the file name IPython compiled the cell under, without its execution number.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None:
        return None
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("gamlab"):
        frame = frame.f_back
    if frame is None:
        return None
    try:
        cell = shell.kernel.get_parent()["metadata"].get("cellId")
    except Exception:  # no kernel (a terminal IPython), or one that keeps no parent message
        cell = None
    cell = cell or re.sub(r"<ipython-input-\d+-", "<ipython-input-", frame.f_code.co_filename)
    return cell, frame.f_lineno, shell.execution_count


def replace_previous(view) -> None:
    """Close the views of `view`'s kind that an earlier run of the same cell made at the same line.

    Views made at one line in one run (a loop) are all kept; the next run closes them all.
    Outside IPython nothing is tracked: a script does not re-run its cells.
    """
    site = _creation_site()
    if site is None:
        return
    cell, line, count = site
    key = (type(view).__name__, cell, line)
    previous_count, refs = _LIVE.get(key, (count, []))
    if previous_count != count:
        for ref in refs:
            old = ref()
            if old is not None and old is not view:
                old.close()
        refs = []
    _LIVE[key] = (count, [r for r in refs if r() is not None] + [weakref.ref(view)])
