"""Users' own tasks: a gymnasium env that labels its steps defines the probe grid."""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from neuroalign.core.errors import DataError, ValidationError
from neuroalign.zoo import probe

PAGE = Path(__file__).parents[2] / "docs" / "howto" / "your-own-agents.md"


@pytest.fixture(scope="module")
def corridor(tmp_path_factory):
    """The documented example env, from the page's code block, as module corridor_doc."""
    (code,) = re.findall(r"```python\n(# corridor\.py.*?)```", PAGE.read_text(), re.S)
    assert 25 <= len(code.strip().splitlines()) <= 45  # about 30 lines
    folder = tmp_path_factory.mktemp("corridor")
    (folder / "corridor_doc.py").write_text(code)
    sys.path.insert(0, str(folder))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # re-registering an id warns
            yield importlib.import_module("corridor_doc")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("corridor_doc", None)


def _walker(obs_dim: int) -> nn.Module:
    """Identity layer then a head that always steps forward (action 1)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Identity(), nn.Linear(obs_dim, 2))
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].bias.copy_(torch.tensor([0.0, 1.0]))
    return net


def test_the_grid_comes_from_the_envs_labels(corridor):
    da = probe(_walker(7), "Corridor-v0", layers=["0"], n_repetitions=3, probe_seed=1)
    assert da.dims == ("repetition", "condition", "unit") and da.shape == (3, 10, 7)
    assert list(da["label"].values) == [f"{v}:{a}" for v in ("reward", "danger")
                                        for a in (4, 3, 2, 1, 0)]
    obs = da.values  # the identity layer: the observations themselves
    cue = np.where(obs[..., 0] > obs[..., 1], 1, -1)
    np.testing.assert_array_equal(cue, np.broadcast_to(da["valence"].values, cue.shape))
    np.testing.assert_array_equal(obs[..., 2:].argmax(-1),
                                  np.broadcast_to(da["approach"].values, cue.shape))
    assert (da["action"].values == 1).all() and set(da["task"].values) == {"Corridor-v0"}
    again = probe(_walker(7), "Corridor-v0", layers=["0"], n_repetitions=3, probe_seed=1)
    np.testing.assert_array_equal(again.values, da.values)


def test_by_import_path_only_with_allow_code(corridor):
    with pytest.raises(ValidationError, match=r"task: got 'corridor_doc:CorridorEnv', which "
                       r"imports a module; pass allow_code=True"):
        probe(_walker(7), "corridor_doc:CorridorEnv")
    da = probe(_walker(7), "corridor_doc:CorridorEnv", allow_code=True, n_repetitions=2)
    assert da.sizes["condition"] == 10
    with pytest.raises(ValidationError, match=r"task: got 'NoSuchEnv-v0'; expected a zoo task, "
                       r"a registered gymnasium id"):
        probe(_walker(7), "NoSuchEnv-v0")


def test_missing_and_inconsistent_labels_name_the_step_and_key(corridor):
    class Unlabelled(corridor.CorridorEnv):
        def _info(self):
            info = super()._info()
            if self.t == 2:
                del info["approach"]
            return info

    class Flipping(corridor.CorridorEnv):
        def _info(self):
            info = super()._info()
            if self.t == 3:
                info["valence"] = -info["valence"]
            return info

    class BadApproach(corridor.CorridorEnv):
        def _info(self):
            return {"valence": "reward", "approach": -1}

    cases = [(Unlabelled, r"episode 0, step 2: info lacks 'approach'"),
             (Flipping, r"episode 0, step 3: info\['valence'\] changed from"),
             (BadApproach, r"episode 0, step 0: info\['approach'\] = -1; expected a "
                           r"non-negative integer")]
    for cls, match in cases:
        setattr(corridor, cls.__name__, cls)
        with pytest.raises(DataError, match=match) as info:
            probe(_walker(7), f"corridor_doc:{cls.__name__}", allow_code=True)
        assert "\n" not in str(info.value)


def test_cells_the_agent_never_reaches_are_named(corridor):
    waiter = _walker(7)
    with torch.no_grad():
        waiter[1].bias.copy_(torch.tensor([1.0, 0.0]))  # never steps forward
    da = probe(waiter, "Corridor-v0", n_repetitions=2)  # only approach 4 is ever seen
    assert list(da["label"].values) == ["reward:4", "danger:4"]


def test_a_grid_the_labels_leave_incomplete_names_the_short_cells(corridor):
    class ShortDanger(corridor.CorridorEnv):
        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed, options=options)
            if self.valence == -1:
                self.distance = 2
            return self._obs(), self._info()

    corridor.ShortDanger = ShortDanger
    with pytest.raises(DataError, match=r"cells with fewer than 2 observations after \d+ "
                       r"episodes: danger:4 \(0/2\), danger:3 \(0/2\); expected every valence "
                       r"seen at every approach seen"):
        probe(_walker(7), "corridor_doc:ShortDanger", allow_code=True, n_repetitions=2)
