"""Stopping cleanly when asked: SIGTERM saves a checkpoint at the next step boundary.

Colab ends sessions, cluster schedulers (SLURM, Kubernetes) and torchrun send SIGTERM
before they kill a process. While the trainer runs, a SIGTERM only raises a flag
(`StopRequest`); the trainer finishes the step it is in, writes its checkpoint, and raises
`Stopped`. The CLI turns that into one line on stderr and exit code 143 (128 + SIGTERM's
15, the code a shell reports for a process ended by SIGTERM): "stopped early, resume me",
distinct from 0 ("finished") and 2 ("your options were wrong").

SIGKILL cannot be caught; there the atomic checkpoint writes (gamlab/training/checkpoint.py) keep
the last good checkpoint, and `--resume` continues from it exactly.

Ctrl-C (SIGINT: a terminal's, or a notebook's stop button) is deferred the same way by
`Interrupt`: a step changes the weights, AdamW's moments and step counts, the schedule, the
step counter, the meter and the random state one after another, and a KeyboardInterrupt
between two of them leaves a run that fit() continues wrongly (one update too many,
parameters stepped a different number of times). The trainer raises KeyboardInterrupt at the
next step boundary instead, so fit() again continues exactly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

EXIT_CODE = 143  # 128 + signal.SIGTERM


class Stopped(Exception):  # noqa: N818 - reads as "the run was stopped"
    """Training stopped at a step boundary because SIGTERM arrived; the message says where it saved."""

    exit_code = EXIT_CODE


class StopRequest:
    """A context manager that turns SIGTERM into a flag (`requested`) while it is open.

    Only the main thread may set signal handlers; elsewhere (a worker thread) it does
    nothing and SIGTERM keeps its usual effect. The previous handler comes back on exit.
    """

    def __init__(self, signals=(signal.SIGTERM,)):
        self.signals = signals
        self.requested = False
        self.signum: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        self.requested, self.signum = True, signum

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "a stop request"


class Interrupt:
    """A context manager that defers SIGINT (Ctrl-C, a notebook's stop button) to a step boundary.

    The first SIGINT only raises the flag `requested`; the trainer checks it at each step
    boundary and raises KeyboardInterrupt there. A second SIGINT while the step has changed
    nothing that lasts (between `undoable(undo)` and `commit()`: forward and backward) calls
    `undo()` (which puts back the random state) and raises KeyboardInterrupt at once; after
    `commit()` it stays deferred. Only the main thread may set signal handlers; elsewhere, or
    where SIGINT is ignored, it does nothing. The previous handler comes back on exit.
    """

    def __init__(self):
        self.presses = 0
        self._undo: Callable[[], None] | None = None
        self._previous = None

    @property
    def requested(self) -> bool:
        return self.presses > 0

    def undoable(self, undo: Callable[[], None]) -> None:
        """From now until commit(), a second Ctrl-C may end the step at once; `undo()` restores its start."""
        self._undo = undo

    def commit(self) -> None:
        """From now on the step changes state: a Ctrl-C waits for its boundary."""
        self._undo = None

    def _handle(self, signum, frame) -> None:
        self.presses += 1
        if self.presses > 1 and self._undo is not None:
            undo, self._undo = self._undo, None
            undo()
            raise KeyboardInterrupt("interrupted twice; the step in progress was undone")

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) not in (
                signal.SIG_IGN, None):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._undo = None
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
