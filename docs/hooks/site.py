"""The MkDocs hook of the documentation site (named in ``mkdocs.yml``).

It adds the generated pages to the site and fills the navigation's generated
sections:

* ``cli/``: one page per command of the ``neuroalign`` command line (``docsite.cli``);
* ``reference/``: one API page per sub-package (``docsite.api``);
* ``tutorials/``: the notebooks with their outputs (``docsite.notebooks``).

A hand-written file in one of these folders stops the build: it would hide a page
that must come from the code.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for entry in (str(ROOT), str(HERE)):  # document this checkout's package, not another one
    if entry not in sys.path:
        sys.path.insert(0, entry)

from docsite import api, cli, notebooks  # noqa: E402

log = logging.getLogger("mkdocs.hooks.site")

#: the folders whose pages come from the code; the nav placeholder that lists them
GENERATED: dict[str, str] = {"tutorials": "generated:tutorials", "cli": "generated:cli",
                             "reference": "generated:reference"}


def _titles(section: str) -> list[Any]:
    if section == "cli":
        return [{cli.title(path): cli.page_uri(path)} for path, _ in cli.walk()]
    if section == "reference":
        return [{f"neuroalign{'.' + m if m else ''}": api.page_uri(m)}
                for m in ("", *api.SUBPACKAGES)]
    return [f"tutorials/{path.name}" for path in notebooks.notebooks(ROOT)]


def _fill(nav: Any) -> Any:
    if isinstance(nav, list):
        return [_fill(item) for item in nav]
    if isinstance(nav, dict):
        return {key: _fill(value) for key, value in nav.items()}
    for section, placeholder in GENERATED.items():
        if nav == placeholder:
            return _titles(section)
    return nav


def on_config(config: Any) -> Any:
    """Fill the generated sections of the navigation; keep caches under build/."""
    config["nav"] = _fill(config["nav"])
    jupyter = config["plugins"].get("mkdocs-jupyter")
    if jupyter is not None:
        jupyter.config["cache_dir"] = str(ROOT / "build" / "mkdocs-jupyter")
    return config


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages (refusing hand-written files where they belong)."""
    for file in files:
        top = file.src_uri.split("/", 1)[0]
        if top in GENERATED and "/" in file.src_uri:
            raise PluginError(f"docs/{file.src_uri}: the {top}/ pages are generated when "
                              f"the site is built; remove the hand-written file")
    generated = {**cli.pages(), **api.pages(ROOT)}
    for uri, text in generated.items():
        files.append(File.generated(config, uri, content=text))
    sources = notebooks.notebooks(ROOT)
    copies, executed = notebooks.ensure_executed(sources, ROOT)
    if executed:
        log.info("executed notebooks without a fresh executed copy: %s", ", ".join(executed))
    for copy in copies:  # a real file (mkdocs-jupyter reads it from src_dir), not a virtual one
        files.append(File(f"{notebooks.SECTION}/{copy.name}", src_dir=str(copy.parents[1]),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files
