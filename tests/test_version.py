"""One version everywhere: pyproject, the installed metadata, ``__version__``, the CLI and
the newest release of CHANGELOG.md (Keep a Changelog)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import re
from pathlib import Path

import neuroalign

ROOT = Path(__file__).resolve().parents[1]
#: ``## [Unreleased]`` or ``## [1.2.3] - 2026-11-30``
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")


def _pyproject_version() -> str:
    # the [project] table's version line (tomllib is not in Python 3.10)
    text = (ROOT / "pyproject.toml").read_text()
    project = re.search(r"^\[project\]\n(.*?)(?=^\[)", text, re.S | re.M)
    assert project is not None, "pyproject.toml: no [project] table"
    match = re.search(r'^version = "([^"]+)"$', project.group(1), re.M)
    assert match is not None, "pyproject.toml: [project] has no version line"
    return match.group(1)


def _changelog_sections() -> list[tuple[str, str | None]]:
    lines = (ROOT / "CHANGELOG.md").read_text().splitlines()
    sections = []
    for line in lines:
        if line.startswith("## "):
            match = HEADING.match(line)
            assert match, f"CHANGELOG.md: heading {line!r} is not '## [version] - date'"
            sections.append((match["version"], match["date"]))
    return sections


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_cli_module_and_metadata_agree_with_pyproject(cli) -> None:
    version = _pyproject_version()
    assert importlib.metadata.version("neuroalign") == version, (
        "the installed metadata lags pyproject.toml: reinstall (pip install -e .)")
    assert neuroalign.__version__ == version
    proc = cli.run("--version")
    assert proc.returncode == 0 and proc.stdout == f"neuroalign {version}\n"


def test_changelog_newest_release_is_the_package_version() -> None:
    sections = _changelog_sections()
    assert sections[0] == ("Unreleased", None), "CHANGELOG.md starts with ## [Unreleased]"
    released = sections[1:]
    assert released, "CHANGELOG.md lists no release"
    for version, date in released:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        assert date is not None, f"release {version} has no date"
        dt.date.fromisoformat(date)
    versions = [v for v, _ in released]
    dates = [d for _, d in released]
    assert versions == sorted(versions, key=_key, reverse=True) and len(set(versions)) == len(
        versions), "releases newest first, each once"
    assert dates == sorted(dates, reverse=True)
    assert versions[0] == _pyproject_version()
