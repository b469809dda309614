"""Environment seeds: disjoint across phases, cycles, streams and run seeds, so that phases of one task see
different games."""

from __future__ import annotations

import numpy as np
import pytest

from rlplastic.envs import make_env
from rlplastic.envs.seeding import MAX_ENVS, env_seeds
from rlplastic.suites import load_suite


def test_env_seeds_are_disjoint_across_phases_cycles_streams_and_run_seeds() -> None:
    seen: set[int] = set()
    for seed in range(3):
        for phase in range(12):  # e.g. 3 games x 4 cycles
            for stream in ("train", "probe"):
                block = set(env_seeds(seed, phase, 64, stream).tolist())
                assert len(block) == 64 and not block & seen
                seen |= block
    with pytest.raises(ValueError, match="exceeds"):
        env_seeds(0, 0, MAX_ENVS + 1)


def test_different_phases_see_different_games_of_the_same_task() -> None:
    suite = load_suite("atari")
    frames = []
    for phase in (0, 3):  # the same game in cycles 1 and 2
        env = make_env("atari", "Breakout", env_seeds(0, phase, 2), suite.env_options)
        env.reset()
        rng = np.random.default_rng(0)
        for _ in range(60):
            result = env.step(rng.integers(0, 18, 2))
        frames.append(result.obs.copy())
        env.close()
    assert not np.array_equal(frames[0], frames[1])
