"""One page per command of the ``neuroalign`` command line, rendered from the typer app.

The command tree is walked at build time (``typer.main.get_command``) and each page
holds the command's ``--help`` exactly as the terminal prints it, so the pages cannot
drift from the code: a new command gets a page, a removed one loses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

PROGRAM = "neuroalign"
#: the terminal width the help is rendered at
WIDTH = 100


def root_command() -> Any:
    """The click command behind ``neuroalign.cli.app``."""
    import typer

    from neuroalign.cli import app

    return typer.main.get_command(app)


def walk(command: Any | None = None, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], Any]]:
    """Yield ``(path, command)`` for the root and every sub-command, depth first.

    ``path`` is the words after ``neuroalign`` (``()`` for the root); hidden commands
    are left out, as in ``--help``.
    """
    command = root_command() if command is None else command
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield from walk(sub, (*path, name))


def page_uri(path: tuple[str, ...]) -> str:
    """The page of a command: ``cli/index.md`` for the root, ``cli/zoo-train.md``..."""
    return "cli/" + ("-".join(path) if path else "index") + ".md"


def title(path: tuple[str, ...]) -> str:
    """``neuroalign zoo train``."""
    return " ".join((PROGRAM, *path))


def help_text(path: tuple[str, ...]) -> str:
    """What ``neuroalign PATH --help`` prints, trailing spaces removed.

    Raises
    ------
    RuntimeError
        If the help exits with a non-zero status.
    """
    from typer.testing import CliRunner

    from neuroalign.cli import app

    env = {"COLUMNS": str(WIDTH), "TERMINAL_WIDTH": str(WIDTH), "NO_COLOR": "1"}
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=WIDTH, env=env)
    if result.exit_code != 0:
        raise RuntimeError(f"'{title(path)} --help' exited with {result.exit_code}: "
                           f"{result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


def page(path: tuple[str, ...], command: Any) -> str:
    """The Markdown page of one command."""
    short = command.get_short_help_str(limit=200) if path else (command.help or "")
    out = [f"# {title(path)}", "", short.strip(), "", "```text", help_text(path), "```", ""]
    subs = [(name, sub) for name, sub in getattr(command, "commands", {}).items()
            if not getattr(sub, "hidden", False)]
    if subs:
        out += ["## Commands", "", "| command | what it does |", "|---|---|"]
        for name, sub in subs:
            link = page_uri((*path, name)).removeprefix("cli/")
            out.append(f"| [`{title((*path, name))}`]({link}) | "
                       f"{sub.get_short_help_str(limit=200).replace('|', '/')} |")
        out.append("")
    out.append("*Generated from the command's `--help` when the site is built.*")
    return "\n".join(out) + "\n"


def pages() -> dict[str, str]:
    """Every command's page, page path -> Markdown, the root first."""
    return {page_uri(path): page(path, command) for path, command in walk()}
