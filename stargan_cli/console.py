"""The one place rich is configured: the console, progress bars, tables and error lines."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True, highlight=False)
stdout = Console(highlight=False, markup=False)  # results hold paths and names: never markup


def quiet() -> bool:
    """Progress bars are hidden when STARGAN_QUIET is set (tests) but the work is the same."""
    return bool(os.environ.get("STARGAN_QUIET"))


def progress(*extra_columns: TextColumn, enabled: bool = True) -> Progress:
    """A progress bar: description, bar, n/total, elapsed, remaining, then any extra columns. Hidden
    when not `enabled` (e.g. on all processes but the main one) or when quiet."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra_columns,
        console=console,
        disable=quiet() or not enabled,
        transient=False,
    )


def error(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def warn(message: str) -> None:
    console.print(f"[bold yellow]warning:[/] {escape(message)}", soft_wrap=True)


def info(message: str) -> None:
    if not quiet():
        console.print(escape(message), soft_wrap=True)
