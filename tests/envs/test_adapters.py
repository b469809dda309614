"""The env contract of the adapters: a truncation is reported apart from a termination, with its final
observation."""

from __future__ import annotations

import numpy as np
import pytest

from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite


@pytest.mark.parametrize("points,cut", [(0.0, True), (1.0, False)])
def test_seaquest_stall_guard_truncates_pointless_episodes_only(points: float, cut: bool) -> None:
    """C-CHAIN's guard: a Seaquest episode N steps long with under 0.1 points is cut (a truncation). A
    submarine that stays at the surface (action 0, no-op) never dies, so the guard is all that ends it."""
    options = load_suite("minatar").env_options | {"seaquest_stall_steps": 20}
    env = make_env("minatar", "Seaquest", env_seeds(0, 0, 1), options)
    env.reset()
    env._points[:] = points  # as if a point had been scored before the first step
    for step in range(1, 21):
        result = env.step(np.zeros(1, dtype=np.int64))
        assert result.truncated[0] == (cut and step == 20), step
    assert not result.terminated.any()
    env.close()


def test_seaquest_stall_guard_leaves_the_other_games_alone() -> None:
    options = load_suite("minatar").env_options | {"seaquest_stall_steps": 5}
    env = make_env("minatar", "Freeway", env_seeds(0, 0, 1), options)
    env.reset()
    results = [env.step(np.zeros(1, dtype=np.int64)) for _ in range(10)]  # Freeway at rest: no point, no end
    assert not any(r.truncated.any() or r.terminated.any() for r in results)
    env.close()


def test_truncation_is_reported_apart_from_termination_with_the_final_observation() -> None:
    suite = load_suite("minatar")
    env = make_env("minatar", "Freeway", env_seeds(0, 0, 2), suite.env_options | {"max_episode_steps": 5})
    obs = env.reset()
    for _ in range(5):
        result = env.step(np.zeros(2, dtype=np.int64))
    assert result.truncated.all() and not result.terminated.any()
    assert result.final_obs.any() and not np.array_equal(result.final_obs, result.obs)  # the cars moved on
    assert not np.array_equal(result.final_obs, obs)
    env.close()


@pytest.mark.parametrize("kind,task", [("minatar", "Freeway"), ("dmc", "walker-stand")])
def test_a_reset_starts_the_episode_statistics_afresh(kind: str, task: str) -> None:
    """Steps taken before a reset belong to no episode: the next one's length counts from the reset."""
    suite = load_suite("minatar" if kind == "minatar" else "walker")
    options = suite.env_options | ({"max_episode_steps": 5} if kind == "minatar" else {})
    env = make_env(kind, task, env_seeds(0, 0, 1), options)
    actions = np.zeros((1, env.action_spec.dim), np.float32) if kind == "dmc" else np.zeros(1, np.int64)
    env.reset()
    for _ in range(3):
        env.step(actions)
    env.reset()
    steps, lengths = 0, []
    while not lengths:
        lengths = [e.length for e in env.step(actions).episodes]
        steps += 1
    assert lengths == [steps]
    env.close()
