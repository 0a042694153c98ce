"""Store responses as netCDF (h5netcdf engine), atomically, and a keyed cache of them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import NWBFormatError, SourceError
from neuroalign.io.source import cache_root, identity_hash

__all__ = ["cache_key", "cache_path", "load_store", "save_store"]


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value):
            return np.asarray(value, dtype=np.float64)
        return json.dumps(list(value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    if value is None:
        return ""
    return value


def save_store(data: xr.DataArray, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` to ``path`` as netCDF; the file appears complete or not at all.

    Attrs that netCDF cannot hold are converted: bools to ints, numeric
    sequences to arrays, other sequences and dicts to JSON text.
    """
    target = Path(path)
    out = data.copy(deep=False)
    out.attrs = {k: _plain(v) for k, v in data.attrs.items()}
    for name in list(out.coords):
        if out[name].dtype == object:
            out = out.assign_coords({name: out[name].astype(str)})
    with atomic_file(target, suffix=".nc") as tmp:
        out.to_netcdf(tmp, engine="h5netcdf")
    return target


def load_store(path: str | os.PathLike[str]) -> xr.DataArray:
    """Read a DataArray written by :func:`save_store` fully into memory."""
    target = Path(path)
    if not target.exists():
        raise SourceError(f"store {target}: no such file")
    try:
        with xr.open_dataarray(target, engine="h5netcdf") as da:
            return da.load()
    except (OSError, ValueError) as err:
        raise NWBFormatError(f"store {target}: not a readable neuroalign store ({err})") from None


def cache_key(identity: str, **params: Any) -> str:
    """Hash of a source identity, loading parameters and the neuroalign version."""
    from neuroalign.core.provenance import neuroalign_version

    return identity_hash(identity, sorted((k, repr(v)) for k, v in params.items()),
                         neuroalign_version())


def cache_path(key: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the responses with cache ``key`` are stored."""
    return cache_root(cache_dir) / "responses" / f"{key}.nc"
