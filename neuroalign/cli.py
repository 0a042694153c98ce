"""The ``neuroalign`` command line: one entry point, one sub-command per part.

Each part registers its own commands from its ``cli`` module so that this file
stays a table of contents. Heavy imports (torch, pynwb, dask) happen inside the
commands, so ``neuroalign --help`` stays fast.
"""

from __future__ import annotations

import sys

import typer

from neuroalign.core.errors import NeuroalignError

app = typer.Typer(
    name="neuroalign",
    help="Compare RL agents with mouse brain recordings: valence geometry, RSA, CKA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from neuroalign.batch.cli import register as register_batch
    from neuroalign.io.cli import register as register_io
    from neuroalign.pipeline.cli import register as register_pipeline
    from neuroalign.simulate.cli import register as register_simulate
    from neuroalign.zoo.cli import register as register_zoo

    for register in (register_io, register_simulate, register_zoo, register_pipeline,
                     register_batch):
        register(app)


_register_all()


def main() -> None:
    """Run the CLI.

    Usage errors print the usage message and exit with status 2 (click's standalone
    handling); a :class:`NeuroalignError` prints ``error: <message>`` and exits with
    status 2 instead of a traceback.
    """
    try:
        app()
    except NeuroalignError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
