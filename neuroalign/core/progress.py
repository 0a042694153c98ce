"""One progress display for every long job: count, elapsed time and ETA."""

from __future__ import annotations

from typing import Any

__all__ = ["progress_bar"]


def progress_bar(console: Any = None, *, enabled: bool = True) -> Any:
    """A :class:`rich.progress.Progress` with a bar, ``done/total``, elapsed time and ETA.

    Parameters
    ----------
    console
        A :class:`rich.console.Console` to draw on (default: rich's own).
    enabled
        When false the display is silent, but tasks can still be added and advanced.

    Returns
    -------
    rich.progress.Progress
        Use it as a context manager.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=console, disable=not enabled, transient=False)
