"""The top-level API: every advertised name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import neuroalign


@pytest.mark.parametrize("name", sorted(neuroalign._LAZY))
def test_top_level_names_resolve_to_the_part(name: str) -> None:
    module = __import__(neuroalign._LAZY[name], fromlist=[name])
    assert getattr(neuroalign, name) is getattr(module, name)
    assert name in neuroalign.__all__


def test_unknown_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        neuroalign.nope  # noqa: B018


def test_import_does_not_load_heavy_dependencies() -> None:
    code = ("import sys, neuroalign; "
            "print(sorted(m for m in ('torch', 'pynwb', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
