"""Export an agent's probe activations as an NWB file that reads like imaging data.

Every layer becomes one ``RoiResponseSeries`` (named after the layer) under
``processing/ophys/DfOverF``; its ROIs are the layer's units and its imaging
plane's ``location`` is the layer name, so region-aware loaders see one "region"
per layer. Probe episodes become trials: each episode's steps are laid out in
time at ``rate`` Hz (0.25 s per step at 4 Hz, one recording bin per step), after
``iti_steps`` inter-trial steps on a blank (all-zero) observation. The trials
table holds ``start_time`` (cue step), ``stop_time`` (end of the outcome step),
``cue_time``, ``outcome_time``, ``trial_type`` (``sucrose``, ``shock``,
``neutral``), ``valence`` and ``repetition``; so the sample at ``outcome_time``
is approach 0 and the one ``a`` steps earlier is approach ``a``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neuroalign.core.atomic import atomic_file
from neuroalign.core.errors import OutputExistsError, ValidationError
from neuroalign.core.provenance import neuroalign_version
from neuroalign.zoo.agent import ZooAgent

__all__ = ["TRIAL_TYPES", "export_nwb"]

#: valence code -> trials-table ``trial_type`` (the amygdala-valence layout)
TRIAL_TYPES: dict[int, str] = {1: "sucrose", -1: "shock", 0: "neutral"}


def export_nwb(zoo_agent: ZooAgent, path: str | os.PathLike[str],
               layers: Sequence[str] | None = None, n_repetitions: int = 8,
               probe_seed: int = 0, include_neutral: bool | None = None,
               rate: float = 4.0, iti_steps: int = 2, overwrite: bool = False) -> Path:
    """Write probe activations of ``zoo_agent`` to ``path`` as NWB.

    Parameters
    ----------
    zoo_agent
        A loaded agent (:func:`neuroalign.zoo.load_agent`).
    path
        Output ``.nwb`` file, written atomically.
    layers
        Layers to export (all by default); one RoiResponseSeries each.
    n_repetitions, probe_seed
        Probe episodes per valence and their seed (as in :func:`neuroalign.zoo.probe`).
    include_neutral
        Export neutral trials too; by default when the task has them (Pavlovian).
    rate
        Steps per second.
    iti_steps
        Blank steps before each trial.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    ValidationError
        Unknown layer (the message lists the valid ones), or an agent of the
        ``contrast`` task (its probe trials are closed-loop; use
        :func:`neuroalign.zoo.probe`).
    """
    if zoo_agent.task.sequential:
        raise ValidationError(
            f"agent: {zoo_agent.name!r} learned {zoo_agent.task.name!r}; NWB export lays out "
            "the valence x approach probe episodes of 'pavlovian' and 'gridworld' only"
        )
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel, RoiResponseSeries

    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"NWB output {target}: exists; pass overwrite to replace it")
    wanted = zoo_agent.check_layers(layers)
    task = zoo_agent.task
    if include_neutral is None:
        include_neutral = task.name == "pavlovian"
    valences = task.condition_coords(include_neutral)["valence"][1][::len(task.approaches)]
    eps = task.probe_episodes(n_repetitions, probe_seed, include_neutral)
    n_rep, n_val, n_steps, obs_dim = eps.shape
    per_trial = iti_steps + n_steps
    blank = np.zeros((iti_steps, obs_dim), dtype=np.float32)
    stream = np.concatenate([np.concatenate([blank, eps[r, v]])
                             for r in range(n_rep) for v in range(n_val)])
    acts = zoo_agent.activations(stream, wanted)
    dt = 1.0 / float(rate)

    created = _dt.datetime.now(_dt.timezone.utc)
    meta = {"agent": zoo_agent.name, "task": task.name, "seed": zoo_agent.seed,
            "family": zoo_agent.family, "checkpoint_hash": zoo_agent.checkpoint_hash,
            "probe_seed": probe_seed, "n_repetitions": n_rep, "rate_hz": rate,
            "neuroalign_version": neuroalign_version(), "synthetic": 1,
            "layers": wanted, "roles": {name: zoo_agent.role(name) for name in wanted}}
    nwb = NWBFile(
        session_description=f"probe activations of zoo agent {zoo_agent.name} on "
                            f"{task.name} (seed {zoo_agent.seed}); model units as ROIs",
        identifier=f"neuroalign-zoo-{zoo_agent.name}-{task.name}-s{zoo_agent.seed}-"
                   f"{(zoo_agent.checkpoint_hash or 'untrained')[-12:]}",
        session_start_time=created, notes=json.dumps(meta),
        keywords=["neuroalign", "model", "zoo"],
    )
    device = nwb.create_device(name="zoo_network", description=f"{zoo_agent.name} network")
    channel = OpticalChannel(name="units", description="model units", emission_lambda=np.nan)
    module = nwb.create_processing_module("ophys", "model-unit activations as ROI signals")
    segmentation = ImageSegmentation()
    dff = DfOverF(name="DfOverF")
    module.add(segmentation)
    module.add(dff)
    for name in wanted:
        plane = nwb.create_imaging_plane(
            name=f"plane_{name}", optical_channel=channel, description=f"layer {name}",
            device=device, excitation_lambda=np.nan, indicator="none", location=name,
            imaging_rate=float(rate))
        seg = segmentation.create_plane_segmentation(
            name=f"units_{name}", description=f"units of layer {name}", imaging_plane=plane)
        values = acts[name]
        for i in range(values.shape[1]):
            seg.add_roi(pixel_mask=[(i, 0, 1.0)])
        rois = seg.create_roi_table_region(description=f"units of {name}",
                                           region=list(range(values.shape[1])))
        dff.add_roi_response_series(RoiResponseSeries(
            name=name, data=values, rois=rois, unit="a.u.", rate=float(rate),
            starting_time=0.0, description=f"activation of layer {name} ({zoo_agent.role(name)})"))

    for col, desc in (("cue_time", "time of the cue step (approach K)"),
                      ("outcome_time", "time of the outcome step (approach 0)"),
                      ("trial_type", "sucrose, shock or neutral"),
                      ("valence", "+1 reward, -1 danger, 0 neutral"),
                      ("repetition", "probe repetition")):
        nwb.add_trial_column(name=col, description=desc)
    for r in range(n_rep):
        for v in range(n_val):
            first = ((r * n_val + v) * per_trial + iti_steps) * dt
            outcome = first + (n_steps - 1) * dt
            valence = int(valences[v])
            nwb.add_trial(start_time=first, stop_time=outcome + dt, cue_time=first,
                          outcome_time=outcome, trial_type=TRIAL_TYPES[valence],
                          valence=valence, repetition=r)
    with atomic_file(target, suffix=".nwb") as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.chmod(tmp, 0o644)
    return target
