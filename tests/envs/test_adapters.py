"""The env contract of the adapters: a truncation is reported apart from a termination, with its final
observation."""

from __future__ import annotations

import numpy as np

from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite


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
