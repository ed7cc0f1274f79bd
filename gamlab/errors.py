"""The one exception type for mistakes a user can fix."""


class GamlabError(ValueError):
    """A problem with the user's input: the message names it and says what to do.

    The CLI prints these as a single line (no traceback); in a notebook they read as
    one sentence at the bottom of the cell.
    """
