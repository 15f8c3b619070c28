"""Exceptions that carry a message a user can act on.

The CLI catches `StarganError` and prints its message as one red line; anything else is a bug and keeps its
traceback.
"""

import difflib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path


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


def temporary_name(path: str | Path) -> Path:
    """A hidden temporary name beside `path`, unique to this process and call, so that two writers of one
    folder never share one."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def cannot_write(path, exc: OSError) -> StarganError:
    """An OSError of a write as one line naming the destination and what to do."""
    reason = exc.strerror or exc.__class__.__name__
    return StarganError(
        f"cannot write {path}: {reason}; check that its folder exists and is writable and that the disk has "
        "room, or choose another destination"
    )


def discard(path: Path) -> None:
    """Remove a temporary file if it is there; a folder that cannot hold it (a file in its way) is fine."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
