"""Precomputed activations as an agent: agents of any framework or language.

The layout is the one ``neuroalign zoo probe --out`` writes (netCDF, one DataArray):

* dims ``(repetition, condition, unit)``, or ``(condition, unit)`` when averaged;
* on ``condition``: a ``label`` coord (``"reward:5"`` ... ``"danger:0"``, see
  :func:`neuroalign.core.contracts.condition_label`) or ``valence`` and ``approach``
  coords; when both are present they must agree;
* on ``unit``: a ``layer`` coord (the layer of each unit); ``unit_id`` optional;
* the task: the ``task`` argument, else the file's ``task`` attr.

An NWB file written by ``neuroalign zoo export-nwb`` (:func:`neuroalign.zoo.nwb.export_nwb`)
is read back the same way (``.nwb``): its series are read by the recording loader's
imaging reader (:func:`neuroalign.io.imaging.read_imaging`, one ``RoiResponseSeries``
per layer, named after it) and its trials table (``valence``, ``repetition``,
``outcome_time``) places the sample ``a`` steps before each trial's outcome at
approach ``a``; the task, agent, seed, family, layers and roles come from the JSON
the export writes in the file's ``notes``.

The conditions must be exactly the task's grid (``pavlovian``, ``gridworld``; with
the neutral cells of ``pavlovian`` when the file has them). Every problem is reported
in one error line naming the file and what differed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neuroalign.core.atomic import check_regular_file
from neuroalign.core.contracts import condition_label
from neuroalign.core.errors import DataError, ValidationError
from neuroalign.core.limits import check_memory
from neuroalign.core.provenance import file_sha256
from neuroalign.core.validation import check_choice
from neuroalign.core.vocabulary import AGENT_FAMILIES
from neuroalign.zoo.tasks import get_task

__all__ = ["ACTIVATION_DIMS", "read_activations"]

#: accepted dims of an activations file
ACTIVATION_DIMS: tuple[tuple[str, ...], ...] = (("repetition", "condition", "unit"),
                                                ("condition", "unit"))


def _open(path: str | os.PathLike[str], where: str) -> xr.DataArray:
    target = check_regular_file(path, "activations")
    if target.suffix.lower() == ".nwb":
        return _from_nwb(target, where)
    # a netCDF file holds its arrays at most uncompressed x ~ the compression ratio;
    # the real check is on the array's size below, before it is loaded
    try:
        ds = xr.open_dataset(target, engine="h5netcdf")
    except (OSError, ValueError) as err:
        raise DataError(f"{where}: not a readable netCDF file ({err})") from None
    names = list(ds.data_vars)
    if len(names) != 1:
        ds.close()
        raise DataError(f"{where}: holds variables {names}; expected one activations "
                        "array (as `neuroalign zoo probe --out` writes)")
    da = ds[names[0]]
    check_memory(float(np.prod(da.shape, dtype=float)) * 8, f"{where}: activations of "
                 f"shape {tuple(da.shape)}")
    return da.load()


def _notes(h5: Any) -> dict[str, Any]:
    """The export's JSON metadata in the file's ``notes`` (empty when absent or not JSON)."""
    from neuroalign.io.tables import read_dataset, text

    if "general/notes" not in h5:
        return {}
    try:
        meta = json.loads(text(read_dataset(h5["general/notes"])))
    except (json.JSONDecodeError, TypeError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _from_nwb(path: Path, where: str) -> xr.DataArray:
    """An exported NWB file as an activations array ``(repetition, condition, unit)``."""
    from neuroalign.io.imaging import find_roi_series, read_imaging
    from neuroalign.io.source import open_nwb
    from neuroalign.io.tables import table_frame

    with open_nwb(path) as h5:
        meta = _notes(h5)
        if "intervals/trials" not in h5:
            raise DataError(f"{where}: no trials table; expected an NWB file written by "
                            "`neuroalign zoo export-nwb`")
        trials = table_frame(h5["intervals/trials"], where)
        missing = [c for c in ("valence", "repetition", "cue_time", "outcome_time")
                   if c not in trials]
        if missing:
            raise DataError(f"{where}: trials table lacks {missing}; expected the columns "
                            "`neuroalign zoo export-nwb` writes")
        names = [g.name.rsplit("/", 1)[-1] for g in find_roi_series(h5)]
        if not names:
            raise DataError(f"{where}: no ROI response series; expected one per layer")
        stored = [str(x) for x in meta.get("layers") or []]
        order = [n for n in stored if n in names] + [n for n in names if n not in stored]
        signals = [read_imaging(h5, where, series=n) for n in order]
    stored_roles = meta.get("roles")
    roles: dict[str, Any] = stored_roles if isinstance(stored_roles, dict) else {}
    valence = trials["valence"].to_numpy().astype(np.int64)
    repetition = trials["repetition"].to_numpy().astype(np.int64)
    outcome = trials["outcome_time"].to_numpy().astype(np.float64)
    cue = trials["cue_time"].to_numpy().astype(np.float64)
    reps = np.unique(repetition)
    vals = [v for v in (1, -1, 0) if v in set(valence.tolist())]
    blocks: list[np.ndarray] = []
    layer_of: list[str] = []
    role_of: list[str] = []
    for sig, name in zip(signals, order, strict=True):
        assert sig is not None  # the series was found above
        ts = sig.timestamps
        step = float(np.median(np.diff(ts))) if ts.size > 1 else 1.0
        approaches = np.rint((outcome - cue) / step).astype(np.int64)
        if approaches.size and np.any(approaches != approaches[0]):
            raise DataError(f"{where}: trials of {sorted(set(approaches.tolist()))} steps; "
                            "expected one episode length")
        n_app = int(approaches[0]) + 1 if approaches.size else 0
        if blocks and n_app * len(vals) != blocks[0].shape[1]:
            raise DataError(f"{where}: series {name!r} spans {n_app} steps per trial, "
                            f"series {order[0]!r} {blocks[0].shape[1] // len(vals)}; "
                            "expected one sampling rate for every layer")
        check_memory(8.0 * len(reps) * len(vals) * n_app * sig.n_units,
                     f"{where}: series {name!r} on the grid")
        out = np.full((len(reps), len(vals) * n_app, sig.n_units), np.nan)
        seen = np.zeros(out.shape[:2], dtype=bool)
        for k in range(len(trials)):
            r = int(np.searchsorted(reps, repetition[k]))
            if int(valence[k]) not in vals:
                raise DataError(f"{where}: trial {k} has valence {valence[k]}; expected "
                                "1, -1 or 0")
            v = vals.index(int(valence[k]))
            for a in range(n_app):
                t = outcome[k] - a * step
                i = int(np.searchsorted(ts, t - step / 2))
                if i >= ts.size or abs(ts[i] - t) > step / 2:
                    raise DataError(f"{where}: series {name!r} has no sample at "
                                    f"{t:.6g} s (trial {k}, approach {a})")
                c = v * n_app + (n_app - 1 - a)
                if seen[r, c]:
                    raise DataError(f"{where}: trial {k} repeats repetition "
                                    f"{repetition[k]} of valence {valence[k]}")
                seen[r, c] = True
                out[r, c] = sig.data[i]
        if not seen.all():
            r, c = np.argwhere(~seen)[0]
            raise DataError(f"{where}: no trial of valence {vals[c // n_app]} in repetition "
                            f"{reps[r]}; expected every valence in every repetition")
        blocks.append(out)
        layer_of += [name] * sig.n_units
        role_of += [str(roles.get(name, "module"))] * sig.n_units
    n_app = blocks[0].shape[1] // max(len(vals), 1)
    attrs = {k: meta[k] for k in ("task", "agent", "seed", "family", "checkpoint_hash",
                                  "probe_seed") if meta.get(k) is not None}
    return xr.DataArray(
        np.concatenate(blocks, axis=2), dims=("repetition", "condition", "unit"),
        coords={"valence": ("condition", np.repeat(vals, n_app)),
                "approach": ("condition", np.tile(np.arange(n_app)[::-1], len(vals))),
                "layer": ("unit", np.asarray(layer_of)),
                "role": ("unit", np.asarray(role_of))},
        attrs=attrs)


def _problems(da: xr.DataArray, grid: dict[str, Any]) -> list[str]:
    out = []
    if da.dims not in ACTIVATION_DIMS:
        return [f"dims {tuple(da.dims)}, expected {' or '.join(map(str, ACTIVATION_DIMS))}"]
    if "layer" not in da.coords or da["layer"].dims != ("unit",):
        out.append("no 'layer' coord on unit")
    has_label = "label" in da.coords and da["label"].dims == ("condition",)
    has_va = all(k in da.coords and da[k].dims == ("condition",)
                 for k in ("valence", "approach"))
    if not has_label and not has_va:
        return [*out, "no 'label' (or 'valence' and 'approach') coord on condition"]
    if has_va:
        try:
            built = [condition_label(int(v), int(a)) for v, a in
                     zip(da["valence"].values, da["approach"].values, strict=True)]
        except (ValueError, TypeError) as err:
            return [*out, f"valence/approach not on the grid ({err})"]
        if has_label:
            labels = [str(x) for x in da["label"].values]
            wrong = [f"{lab!r} at valence {v}, approach {a}" for lab, b, v, a in
                     zip(labels, built, da["valence"].values, da["approach"].values,
                         strict=True) if lab != b]
            if wrong:
                out.append("labels not matching valence/approach: " + ", ".join(wrong[:5])
                           + (f" (+{len(wrong) - 5} more)" if len(wrong) > 5 else ""))
    labels = ([str(x) for x in da["label"].values] if has_label else built)
    want = [str(x) for x in grid["label"][1]]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    missing = [lab for lab in want if lab not in labels]
    extra = [lab for lab in labels if lab not in want]
    if dup:
        out.append(f"duplicate conditions {dup}")
    if missing:
        out.append(f"missing conditions {missing}")
    if extra:
        out.append(f"extra conditions {extra}")
    return out


def read_activations(path: str | os.PathLike[str], task: str | None = None,
                     layers: Sequence[str] | None = None, average: bool = False,
                     name: str | None = None, family: str | None = None,
                     seed: int | None = None,
                     include_neutral: bool | None = None) -> xr.DataArray:
    """Activations from a file, validated against the task's condition grid.

    Parameters
    ----------
    path
        A netCDF file in the layout of ``neuroalign zoo probe --out``, or an NWB file
        written by ``neuroalign zoo export-nwb`` (module docstring).
    task
        The zoo task whose grid the file holds (default: the file's ``task`` attr).
    layers
        Layers to keep (default all, in the file's order).
    average
        Average over repetitions.
    name, family, seed
        Replace the file's ``agent``, ``family`` and ``seed`` (default: the file's
        attrs, else the file's stem, ``other`` and 0).
    include_neutral
        ``None`` keeps the conditions the file holds; ``False`` leaves out its neutral
        ones (``pavlovian``), as :func:`neuroalign.zoo.probe` of a zoo agent does by
        default; ``True`` requires them.

    Returns
    -------
    xarray.DataArray
        The array :func:`neuroalign.zoo.probe` returns for a zoo agent: conditions in
        the grid's order, unit coords ``unit_id``, ``layer``, ``role``, ``agent``,
        ``seed``, ``task``, ``family``; provenance ``attrs`` with the file's SHA-256.

    Raises
    ------
    DataError
        One line naming the file and every problem: wrong dims, no layer or label
        coords, missing, extra or duplicate conditions, labels that do not match the
        valence and approach coords.
    ValidationError
        Unknown task, family or layer (the message lists the valid ones).
    """
    where = f"activations {str(path)!r}"
    da = _open(path, where)
    task_name = task if task is not None else da.attrs.get("task")
    if task_name is None:
        raise ValidationError(f"{where}: no 'task' attr; pass task= (one of the zoo's "
                              "tasks)")
    task_obj = get_task(str(task_name))
    stored = da.attrs.get("task")
    if task is not None and stored is not None and str(stored) != task_obj.name:
        raise DataError(f"{where}: holds activations on task {str(stored)!r}; expected "
                        f"{task_obj.name!r} (the task given)")
    if task_obj.sequential:
        raise ValidationError(f"task: got {task_obj.name!r}; activations files hold the "
                              "valence x approach grid of 'pavlovian' or 'gridworld'")
    has_neutral = "valence" in da.coords and 0 in set(np.asarray(da["valence"].values).tolist())
    if "label" in da.coords and any(str(x).startswith("neutral") for x in da["label"].values):
        has_neutral = True
    grid = task_obj.condition_coords(include_neutral=has_neutral and task_obj.name == "pavlovian")
    problems = _problems(da, grid)
    if problems:
        want = [str(x) for x in grid["label"][1]]
        raise DataError(f"{where}: " + "; ".join(problems) + f" (task {task_obj.name!r}: "
                        f"{len(want)} conditions {want[0]} .. {want[-1]})")
    labels = ([str(x) for x in da["label"].values] if "label" in da.coords else
              [condition_label(int(v), int(a)) for v, a in
               zip(da["valence"].values, da["approach"].values, strict=True)])
    if include_neutral and not has_neutral:
        raise DataError(f"{where}: holds no neutral conditions; expected them "
                        "(include_neutral)")
    if include_neutral is False and has_neutral:
        grid = task_obj.condition_coords(include_neutral=False)
    order = [labels.index(lab) for lab in grid["label"][1]]
    da = da.isel(condition=order).assign_coords(grid)
    layer_of = np.asarray(da["layer"].values).astype(str)
    known = list(dict.fromkeys(layer_of.tolist()))
    if layers is not None:
        bad = [ly for ly in layers if ly not in known]
        if bad or not layers:
            raise ValidationError(f"layers: got unknown {bad or list(layers)}; {where} has "
                                  f"layers {known}")
        keep = [ly for ly in known if ly in set(layers)]
        da = da.isel(unit=np.flatnonzero(np.isin(layer_of, keep)))
        layer_of = np.asarray(da["layer"].values).astype(str)
    agent = name or str(da.attrs.get("agent") or os.path.splitext(os.path.basename(path))[0])
    fam = family or str(da.attrs.get("family") or "other")
    check_choice(fam, "family", AGENT_FAMILIES)
    the_seed = int(seed if seed is not None else da.attrs.get("seed", 0))
    n = da.sizes["unit"]
    index: Any = np.concatenate([np.arange(int((layer_of == ly).sum()))
                            for ly in dict.fromkeys(layer_of.tolist())]) if n else []
    coords = {
        "unit_id": ("unit", np.asarray([f"{ly}:{i}" for ly, i in
                                        zip(layer_of, index, strict=True)])),
        "layer": ("unit", layer_of),
        "role": ("unit", np.asarray(da["role"].values).astype(str) if "role" in da.coords
                 else np.full(n, "module")),
        "agent": ("unit", np.full(n, agent)),
        "seed": ("unit", np.full(n, the_seed, dtype=np.int64)),
        "task": ("unit", np.full(n, task_obj.name)),
        "family": ("unit", np.full(n, fam)),
    }
    da = da.assign_coords(coords)
    if "repetition" in da.dims:
        da = da.assign_coords(repetition=np.arange(da.sizes["repetition"]))
    da.attrs = {**da.attrs, "agent": agent, "family": fam, "seed": the_seed,
                "task": task_obj.name, "activations_file": str(path),
                "activations_sha256": file_sha256(path), "layers": ",".join(
                    dict.fromkeys(layer_of.tolist()))}
    da.name = "activation"
    if average and "repetition" in da.dims:
        da = da.mean("repetition", keep_attrs=True)
        da.attrs["averaged_over"] = "repetition"
    return da
