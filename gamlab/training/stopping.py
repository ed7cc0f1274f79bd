"""Stopping cleanly when asked: SIGTERM saves a checkpoint at the next step boundary.

Colab ends sessions, cluster schedulers (SLURM, Kubernetes) and torchrun send SIGTERM
before they kill a process. While the trainer runs, a SIGTERM only raises a flag
(`StopRequest`); the trainer finishes the step it is in, writes its checkpoint, and raises
`Stopped`. The CLI turns that into one line on stderr and exit code 143 (128 + SIGTERM's
15, the code a shell reports for a process ended by SIGTERM): "stopped early, resume me",
distinct from 0 ("finished") and 2 ("your options were wrong").

SIGKILL cannot be caught; there the atomic checkpoint writes (gamlab/training/checkpoint.py) keep
the last good checkpoint, and `--resume` continues from it exactly.
"""

from __future__ import annotations

import signal
import threading

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
