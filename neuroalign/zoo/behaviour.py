"""Behaviour on the two-choice contrast task: choice probabilities and accuracy curves.

The same summary serves agents and mice: :func:`psychometric` takes the trials'
contrasts and outcomes (and choices, when known). Accuracy is the share of
rewarded trials, as the mice's ``feedback_type`` records it: on trials with equal
non-zero contrasts a turn is rewarded at random, so at difference 0 accuracy
mixes the no-go trials (both contrasts zero) with those coin flips. Intervals are
Wilson score intervals (:func:`neuroalign.compare.inference.binomial_interval`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuroalign.compare.inference.stats import binomial_interval
from neuroalign.core.errors import ValidationError
from neuroalign.zoo.agent import ZooAgent
from neuroalign.zoo.contrast import ACTIONS, contrast_pairs
from neuroalign.zoo.contrast_task import ContrastTask

__all__ = ["GRADED_MIN_ACCURACY", "evaluate_behaviour", "psychometric"]

#: accuracy an agent must exceed at the largest contrast difference
GRADED_MIN_ACCURACY = 0.85


def _rate(k: int, n: int, level: float) -> dict[str, Any]:
    low, high = binomial_interval(k, n, level)
    return {"n": int(n), "k": int(k), "p": float(k / n) if n else float("nan"),
            "ci_low": float(low), "ci_high": float(high)}


def psychometric(contrast: np.ndarray, valence: np.ndarray, choice: np.ndarray | None = None,
                 level: float = 0.95) -> dict[str, Any]:
    """Choice probabilities per contrast pair and accuracy per contrast difference.

    Parameters
    ----------
    contrast
        ``(n, 2)`` left and right contrasts of every trial.
    valence
        ``(n,)`` outcome: +1 rewarded (water), -1 punished (white noise).
    choice
        ``(n,)`` action indices (0 no-go, 1 left, 2 right), or ``None`` (unknown).
    level
        Confidence level of the intervals.

    Returns
    -------
    dict
        ``pairs``: per contrast pair ``contrast_left``, ``contrast_right``, ``n`` and,
        with choices, ``p_nogo``/``p_left``/``p_right`` (each with ``ci_low``/``ci_high``);
        ``accuracy``: per absolute difference ``difference``, ``n``, ``k`` (rewarded),
        ``p``, ``ci_low``, ``ci_high``; ``graded``: accuracy rises from the smallest
        non-zero difference to the largest (the two intervals do not overlap) and
        exceeds :data:`GRADED_MIN_ACCURACY` at the largest.

    Raises
    ------
    ValidationError
        Mismatched lengths or outcomes other than +1/-1.
    """
    c = np.asarray(contrast, dtype=np.float64)
    v = np.asarray(valence, dtype=np.int64)
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] != v.shape[0]:
        raise ValidationError(f"contrast: got shape {c.shape} for {v.shape[0]} outcomes; "
                              "expected (n_trials, 2)")
    if not np.isin(v, (1, -1)).all():
        raise ValidationError(f"valence: got values {sorted(set(v.tolist()))}; expected +1/-1")
    pairs_out = []
    for cl, cr in contrast_pairs():
        on = (c[:, 0] == cl) & (c[:, 1] == cr)
        row: dict[str, Any] = {"contrast_left": float(cl), "contrast_right": float(cr),
                               "n": int(on.sum())}
        if choice is not None:
            ch = np.asarray(choice)[on]
            for i, name in enumerate(ACTIONS):
                r = _rate(int((ch == i).sum()), int(on.sum()), level)
                row[f"p_{name}"] = r["p"]
                row[f"p_{name}_ci"] = [r["ci_low"], r["ci_high"]]
        pairs_out.append(row)
    diff = np.round(np.abs(c[:, 1] - c[:, 0]), 2)
    acc = []
    for d in sorted(set(diff.tolist())):
        on = diff == d
        acc.append({"difference": d, **_rate(int((v[on] == 1).sum()), int(on.sum()), level)})
    nonzero = [a for a in acc if a["difference"] > 0 and a["n"] > 0]
    graded = bool(len(nonzero) >= 2 and nonzero[-1]["p"] > GRADED_MIN_ACCURACY
                  and nonzero[0]["ci_high"] < nonzero[-1]["ci_low"])
    return {"pairs": pairs_out, "accuracy": acc, "graded": graded, "level": level}


def evaluate_behaviour(zoo_agent: ZooAgent, n_per_pair: int = 200, seed: int = 12345,
                       level: float = 0.95) -> dict[str, Any]:
    """Greedy behaviour of a ``contrast`` agent on ``n_per_pair`` trials of every pair.

    Returns
    -------
    dict
        ``agent``, ``task``, ``seed``, ``trunk``, ``n_per_pair``, ``criterion`` (the
        task's evaluation) and the :func:`psychometric` summary.

    Raises
    ------
    ValidationError
        The agent did not learn the ``contrast`` task, or ``n_per_pair < 1``.
    """
    task = zoo_agent.task
    if not isinstance(task, ContrastTask):
        raise ValidationError(f"task: agent {zoo_agent.name!r} learned {task.name!r}; "
                              "choice curves need the 'contrast' task")
    if int(n_per_pair) < 1:
        raise ValidationError(f"n_per_pair: got {n_per_pair}; expected >= 1")
    trials = task.run_trials(zoo_agent.act, np.repeat(contrast_pairs(), int(n_per_pair), axis=0),
                             np.random.default_rng(seed))
    return {"agent": zoo_agent.name, "task": task.name, "seed": zoo_agent.seed,
            "trunk": zoo_agent.trunk, "n_per_pair": int(n_per_pair),
            "criterion": zoo_agent.evaluate(),
            **psychometric(trials.contrast, trials.valence, trials.choice, level)}
