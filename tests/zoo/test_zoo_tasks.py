"""Tasks: gymnasium conformity, reward schemes, zones and probe inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from neuroalign.core.contracts import condition_coords
from neuroalign.core.errors import ValidationError
from neuroalign.zoo import GridworldEnv, PavlovianEnv, get_task, list_tasks, task_names


@pytest.mark.parametrize("env_cls", [PavlovianEnv, GridworldEnv])
def test_env_checker_passes(env_cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker warns about render modes without a spec
        check_env(env_cls(), skip_render_check=True)


def _run_trial(env, valence, actions):
    env.reset(seed=0, options={"valence": valence})
    total, info = 0.0, {}
    for a in actions:
        _, r, term, trunc, info = env.step(a)
        total += r
        if term:
            break
    assert term and not trunc
    return total, info


@pytest.mark.parametrize(
    ("valence", "actions", "expected"),
    [
        (1, [1] * 6, -0.6 + 0.4 + 2.0),  # anticipatory licking throughout: full sucrose
        (1, [0] * 5 + [1], -0.1 + 0.4),  # lick only at the outcome: base sucrose
        (1, [0] * 6, 0.0),  # never licks: nothing
        (1, [1, 1, 1, 0, 0, 1], -0.4 + 0.4 + 2.0 * 3 / 5),
        (-1, [0] * 6, 0.0),  # withdrawn: no air puff
        (-1, [1] * 6, -0.6 - (0.4 + 2.0)),  # approached all along: full puff
        (-1, [1] * 5 + [0], -0.5),  # withdraws just in time: effort only
        (0, [1] * 6, -0.6),  # neutral: licking only costs
        (0, [0] * 6, 0.0),
    ],
)
def test_pavlovian_reward_scheme(valence, actions, expected):
    total, info = _run_trial(PavlovianEnv(), valence, actions)
    assert total == pytest.approx(expected)
    assert info["approach"] == 0 and info["valence"] == valence


def test_pavlovian_random_policy_clearly_worse_than_optimal():
    env = PavlovianEnv()
    rng = np.random.default_rng(0)
    rand = [_run_trial(env, v, rng.integers(2, size=6))[0] for v in (1, -1, 0) * 400]
    best = [_run_trial(env, v, [1 if v == 1 else 0] * 6)[0] for v in (1, -1, 0)]
    # analytic means: random -0.3 per trial, optimal +0.6
    assert np.mean(rand) == pytest.approx(-0.3, abs=0.05)
    assert np.mean(best) == pytest.approx(0.6)


def test_pavlovian_observation_layout():
    env = PavlovianEnv(obs_noise=0.0)
    obs, info = env.reset(seed=1, options={"valence": -1})
    assert info["approach"] == 5
    np.testing.assert_array_equal(obs[:3], [0, 1, 0])  # danger cue one-hot
    assert obs[3] == 1 and obs[-1] == 0
    obs, *_ = env.step(1)
    assert obs[4] == 1 and obs[-1] == pytest.approx(0.2)  # one anticipatory lick of five


def test_gridworld_rewards_and_moves():
    env = GridworldEnv(obs_noise=0.0)
    # hazard (2, 3): step onto it from (1, 3) costs 1 + step cost, episode continues
    env.reset(seed=0, options={"start": (1, 3)})
    _, r, term, trunc, info = env.step(3)
    assert r == pytest.approx(-1.02) and not term and not trunc and info["hazard_hits"] == 1
    # reward site (5, 5): reaching it pays 1 - step cost and ends the episode
    env.reset(seed=0, options={"start": (5, 4)})
    _, r, term, _, _ = env.step(1)
    assert r == pytest.approx(0.98) and term
    # bumping into the boundary leaves the agent in place
    env.reset(seed=0, options={"start": (0, 0)})
    _, r, _, _, info = env.step(0)
    assert info["position"] == (0, 0) and r == pytest.approx(-0.02)


def test_gridworld_truncates_after_max_steps():
    env = GridworldEnv(max_steps=4)
    env.reset(seed=0, options={"start": (0, 0)})
    flags = [env.step(0)[3] for _ in range(4)]
    assert flags == [False, False, False, True]


def test_gridworld_zones_are_disjoint_and_nonempty():
    env = GridworldEnv()
    for a in range(6):
        reward, danger = set(env.zone(1, a)), set(env.zone(-1, a))
        assert reward and danger and not reward & danger
        assert all(env.distance(c, env.hazard) > a for c in reward)


def test_gridworld_expert_episode_approaches_the_site():
    env = GridworldEnv()
    rng = np.random.default_rng(3)
    for valence, site in ((1, env.reward_site), (-1, env.hazard)):
        eps = env.expert_episode(valence, 5, rng)
        assert eps.shape == (6, env.obs_dim)
        scale = (env.size - 1) / 2
        cells = [(round(o[0] * scale + scale), round(o[1] * scale + scale)) for o in eps]
        assert [env.distance(c, site) for c in cells] == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize("name", ["pavlovian", "gridworld"])
def test_probe_inputs_follow_the_condition_grid(name):
    task = get_task(name)
    inputs = task.probe_inputs(n_repetitions=3, seed=1)
    assert inputs.shape == (3, 12, task.make_env().observation_space.shape[0])
    coords = task.condition_coords()
    expected = condition_coords((1, -1), range(6))
    for key in ("valence", "approach", "label"):
        np.testing.assert_array_equal(coords[key][1], expected[key][1])
    # repetitions differ (noise draws), same seed reproduces
    assert not np.allclose(inputs[0], inputs[1])
    np.testing.assert_array_equal(inputs, task.probe_inputs(n_repetitions=3, seed=1))


def test_probe_inputs_neutral_only_for_pavlovian():
    assert get_task("pavlovian").probe_inputs(2, include_neutral=True).shape[1] == 18
    with pytest.raises(ValidationError, match="no neutral condition"):
        get_task("gridworld").probe_inputs(2, include_neutral=True)


def test_unknown_task_lists_valid_ones():
    with pytest.raises(ValidationError, match=r"task: got 'maze'; expected one of \['pavlovian'"):
        get_task("maze")


def test_list_tasks_records():
    names = [t["name"] for t in list_tasks()]
    assert names == task_names() == ["pavlovian", "gridworld", "contrast"]
    assert all(t["budget"] > 0 and t["approaches"] == list(range(6)) for t in list_tasks())


@pytest.mark.parametrize("name", ["pavlovian", "gridworld"])
def test_evaluate_scores_scripted_policies(name):
    task = get_task(name)
    env = task.make_env()
    rng = np.random.default_rng(0)
    random_score = task.evaluate(lambda o: rng.integers(env.action_space.n, size=len(o)))
    assert random_score["criterion_met"] == 0.0 and random_score["success_rate"] < 0.5
    if name == "pavlovian":
        # the cue one-hot tells the correct action: lick on reward cues only
        perfect = task.evaluate(lambda o: (o[:, 0] > 0.5).astype(int))
        assert perfect["success_rate"] == 1.0 and perfect["mean_return"] == pytest.approx(0.6)
