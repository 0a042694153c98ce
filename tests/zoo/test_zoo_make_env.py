"""make_env: the zoo's tasks as public gymnasium environments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from neuroalign.core.errors import ValidationError
from neuroalign.zoo import get_task, make_env


def _rollout(env, actions, seed=None):
    obs, _ = env.reset(seed=seed)
    out, rewards = [obs], []
    for a in actions:
        obs, r, term, trunc, _ = env.step(int(a))
        out.append(obs)
        rewards.append(r)
        if term or trunc:
            obs, _ = env.reset()
            out.append(obs)
    return np.stack(out), np.asarray(rewards)


@pytest.mark.parametrize("task", ["pavlovian", "gridworld", "contrast"])
def test_make_env_is_the_training_env(task):
    env, trained_on = make_env(task), get_task(task).make_env()
    assert type(env) is type(trained_on)
    assert env.observation_space == trained_on.observation_space
    assert env.action_space == trained_on.action_space
    public = {k: v for k, v in vars(env).items() if not k.startswith("_")
              and isinstance(v, (int, float, str, tuple))}
    assert public == {k: vars(trained_on)[k] for k in public}
    actions = np.random.default_rng(0).integers(env.action_space.n, size=40)
    obs_a, rew_a = _rollout(env, actions, seed=5)
    obs_b, rew_b = _rollout(trained_on, actions, seed=5)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(make_env(task), skip_render_check=True)


def test_seed_makes_episodes_reproducible():
    actions = np.ones(30, dtype=int)
    a, _ = _rollout(make_env("gridworld", seed=3), actions)
    b, _ = _rollout(make_env("gridworld", seed=3), actions)
    c, _ = _rollout(make_env("gridworld", seed=4), actions)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert make_env("pavlovian", seed=1).action_space.sample() == \
        make_env("pavlovian", seed=1).action_space.sample()


@pytest.mark.parametrize(("task", "seed", "match"), [
    ("maze", None, r"task: got 'maze'; expected one of \['pavlovian', 'gridworld', "),
    ("pavlovian", -1, r"seed: got -1; expected a non-negative integer"),
    ("pavlovian", 1.5, r"seed: got 1.5; expected a non-negative integer"),
])
def test_bad_arguments(task, seed, match):
    with pytest.raises(ValidationError, match=match):
        make_env(task, seed=seed)
