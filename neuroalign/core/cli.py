"""Pieces shared by the parts' command-line modules (typer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from typer.core import TyperCommand

if TYPE_CHECKING:
    # typer carries its own copy of click; its command classes are annotated with it
    from typer._click import Context, HelpFormatter

__all__ = ["lazy_help_command"]


def lazy_help_command(build_help: Callable[[], str]) -> type[TyperCommand]:
    """A typer command class whose long help is built by ``build_help()`` only when shown.

    A help generated from a config model (every field and its description) needs the
    model imported; building it at registration would make every start of the
    command line, ``neuroalign --help`` included, pay for it. Give the command a
    ``short_help`` for the listing of its group.
    """

    class LazyHelpCommand(TyperCommand):
        def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
            self.help = build_help()
            super().format_help(ctx, formatter)

    return LazyHelpCommand
