"""The ``neuroalign`` command line: one entry point, one sub-command per part.

Each part registers its own commands from its ``cli`` module so that this file
stays a table of contents. Heavy imports (torch, pynwb, dask) happen inside the
commands, so ``neuroalign --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from neuroalign.core.errors import NeuroalignError

if TYPE_CHECKING:
    # typer carries its own copy of click; its command classes are annotated with it
    from typer._click import Context


def _flags_without_type() -> None:
    """Show on/off flags without a value type in the help (typer's rich help writes
    ``<bool>`` after ``--overwrite``, as if the flag took a value)."""
    from typer.core import TyperOption

    show_type = TyperOption.display_type_rich
    if getattr(show_type, "__module__", None) == __name__:
        return  # patched already

    def display_type_rich(self: TyperOption, ctx: Context) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return show_type(self, ctx)

    # a patch of typer's class: mypy refuses every assignment to a method
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_type()

app = typer.Typer(
    name="neuroalign",
    help="Compare RL agents with mouse brain recordings: valence geometry, RSA, CKA.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from neuroalign.core.provenance import neuroalign_version

        typer.echo(f"neuroalign {neuroalign_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """``neuroalign`` alone prints the help and exits 0."""
    if ctx.invoked_subcommand is None:
        text = ctx.get_help()
        if text:  # rich help prints itself and returns ""
            typer.echo(text)


def _register_all() -> None:
    from neuroalign.batch.cli import register as register_batch
    from neuroalign.io.cli import register as register_io
    from neuroalign.pipeline.cli import register as register_pipeline
    from neuroalign.simulate.cli import register as register_simulate
    from neuroalign.study.cli import register as register_study
    from neuroalign.study.cli import register_plan
    from neuroalign.zoo.cli import register as register_zoo

    for register in (register_io, register_simulate, register_zoo, register_pipeline,
                     register_batch, register_study, register_plan):
        register(app)


_register_all()


def main() -> None:
    """Run the CLI.

    A usage error (unknown option or command, missing or ill-typed argument) and a
    :class:`NeuroalignError` both print one line ``error: <message>`` on stderr and exit
    with status 2 instead of a traceback; ``neuroalign`` (or a command group) alone
    prints the help once and exits 0.
    """
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as err:
        # click's exceptions (typer carries its own copy of click) derive from the public
        # TyperException: a usage error has a context, "no arguments" asks for the help
        ctx = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError":
            text = ctx.get_help() if ctx is not None else ""
            if text:  # rich help prints itself and returns ""
                typer.echo(text)
            sys.exit(0)
        else:
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            typer.echo(f"error: {' '.join(err.format_message().split())}{hint}", err=True)
        sys.exit(getattr(err, "exit_code", 2))
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    except NeuroalignError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    if isinstance(code, int) and not isinstance(code, bool):
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
