"""What a method's importer declares (`Method.importer` names it as "module:ATTRIBUTE", loaded only when
`stargan import-reference` runs): how its released files become our model files, and which of the
command's options it takes. The command refuses the others in one line that says why (`holds`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OPTIONS = ("discriminator", "image_size", "attributes", "from", "to", "reverse")


@dataclass(frozen=True)
class ImportRequest:
    """The command's arguments: the released file, the output folder, and the options."""

    file: Path
    out: Path
    discriminator: Path | None = None
    image_size: int | None = None
    attributes: tuple[str, ...] = ()
    source: str = ""  # --from
    target: str = ""  # --to
    reverse: Path | None = None


@dataclass(frozen=True)
class Importer:
    convert: Callable[[ImportRequest], list[Path]]  # -> the files written
    takes: tuple[str, ...]  # of OPTIONS
    holds: str  # what its file holds, said when an option it does not take is given
    next_flags: Callable[[ImportRequest], str]  # `stargan translate` flags for the "next:" line

    def __post_init__(self) -> None:
        assert set(self.takes) <= set(OPTIONS), self.takes
