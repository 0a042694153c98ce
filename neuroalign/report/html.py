"""A self-contained HTML page: inline CSS, figures embedded as base64 PNG, no network."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["PAGE_WIDTH_PX", "Section", "render_html"]

#: the widest the page shows a figure (CSS pixels; wider images are scaled down)
PAGE_WIDTH_PX = 1100

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:PAGE_WIDTHpx;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;
padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.meta{color:#555;font-size:.9em}.caption{color:#444;font-size:.9em;margin-top:0}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em .8em;font-size:.9em}
code{background:#f5f5f5;padding:0 .2em}
details{margin:.5em 0}summary{cursor:pointer;color:#333;font-size:.95em}
""".replace("PAGE_WIDTH", str(PAGE_WIDTH_PX))


@dataclass
class Section:
    """One part of the report: a heading, some HTML-escaped text, a figure and/or a table."""

    title: str
    text: str = ""
    image: Path | None = None
    caption: str = ""
    table: pd.DataFrame | None = None
    raw_html: str = ""
    #: long tables shown collapsed after the section's own: (summary line, table) pairs
    details: Sequence[tuple[str, pd.DataFrame]] = ()


def _img_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, na_rep="–", float_format=lambda v: f"{v:.3f}",
                         escape=True)


def render_html(title: str, meta_lines: Sequence[str], sections: Sequence[Section],
                notes: Sequence[str] = ()) -> str:
    """Render the report page.

    Parameters
    ----------
    title
        Page title.
    meta_lines
        Short lines under the title (version, date, sources); HTML-escaped.
    sections
        The sections in order.
    notes
        Warnings shown in a highlighted box (e.g. synthetic data); HTML-escaped.

    Returns
    -------
    str
        A complete HTML document with every image inlined.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        '<p class="meta">' + "<br>".join(html.escape(m) for m in meta_lines) + "</p>",
    ]
    for note in notes:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        if sec.text:
            for para in sec.text.split("\n\n"):
                parts.append(f"<p>{html.escape(para)}</p>")
        if sec.raw_html:
            parts.append(sec.raw_html)
        if sec.image is not None:  # a figure comes before its table
            parts.append(_img_tag(sec.image, sec.title))
            if sec.caption:
                parts.append(f'<p class="caption">{html.escape(sec.caption)}</p>')
        if sec.table is not None and len(sec.table):
            parts.append(_table_html(sec.table))
        for summary, frame in sec.details:
            if len(frame):
                parts.append(f"<details><summary>{html.escape(summary)}</summary>"
                             f"{_table_html(frame)}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)
