"""The one exception type for mistakes a user can fix."""


class GamlabError(ValueError):
    """A problem with the user's input: the message names it and says what to do.

    The CLI prints these as a single line (no traceback); IPython (a notebook, Colab, the
    ipython shell) shows the same line in place of the traceback (`_render_traceback_`), since
    where in gamlab the input was checked does not help the student who gave it.
    """

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for an exception's own traceback: the one line, the class name in red."""
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]
