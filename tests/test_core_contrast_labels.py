"""Labels of the two-choice contrast grid (shared by io.contrast_grid and zoo.probe)."""

from __future__ import annotations

import numpy as np
import pytest

from neuroalign.core.contracts import (
    contrast_condition_coords,
    contrast_condition_label,
    contrast_level,
    contrast_levels,
)
from neuroalign.core.errors import ValidationError


def test_levels_of_both_groupings():
    assert contrast_levels("diff") == [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]
    assert contrast_levels("side") == [-1.0, 0.0, 1.0]
    cl, cr = np.array([1.0, 0.25, 0.5, 0.0]), np.array([0.0, 0.5, 0.5, 0.25])
    assert contrast_level(cl, cr).tolist() == [-1.0, 0.25, 0.0, 0.25]
    assert contrast_level(cl, cr, "side").tolist() == [-1.0, 1.0, 0.0, 1.0]
    assert str(contrast_level(0.5, 0.5)) == "0.0"  # never -0.0 in a label


def test_labels_and_grid_order():
    assert contrast_condition_label(0.5, 1, 0.3) == "diff+0.50:reward:0.3s"
    assert contrast_condition_label(-1, "danger", 0.0, "side") == "side-1.00:danger:0s"
    coords = contrast_condition_coords([-1.0, 1.0], [1, -1], [0.0, 0.1], "side")
    assert coords["label"][1].tolist() == [
        "side-1.00:reward:0s", "side-1.00:reward:0.1s", "side-1.00:danger:0s",
        "side-1.00:danger:0.1s", "side+1.00:reward:0s", "side+1.00:reward:0.1s",
        "side+1.00:danger:0s", "side+1.00:danger:0.1s"]
    assert coords["valence"][1].tolist() == [1, 1, -1, -1, 1, 1, -1, -1]
    with pytest.raises(ValidationError, match=r"by: got 'pair'; expected one of \['diff'"):
        contrast_level(0, 1, "pair")
