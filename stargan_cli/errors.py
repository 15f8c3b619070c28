"""Exceptions that carry a message a user can act on.

The CLI catches `StarganError` and prints its message as one red line; anything else is a bug and keeps its
traceback.
"""

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """' Did you mean 'x'? Valid: a, b, c' for an unknown name among `options`."""
    options = list(options)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Valid: {', '.join(sorted(options))}"


class StarganError(Exception):
    """Base class: the message says what was wrong and what to do."""


class ConfigError(StarganError):
    """A recipe, an override or a command-line value is invalid."""


class DatasetError(StarganError):
    """A prepared or raw dataset is missing, incomplete or malformed."""


class CheckpointError(StarganError):
    """A checkpoint is missing, incomplete, or does not fit the model or label space."""


class LabelError(StarganError):
    """An attribute name or target specification cannot be resolved."""


class ImageError(StarganError):
    """An input file is not a readable image."""


class MissingInput(StarganError):
    """A command was run without an input it needs and none is in the conventional place: the message says
    what to get, where, and the command to run then. Exit code 2, as for other usage errors."""

    exit_code = 2
