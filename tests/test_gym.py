"""``rlplastic.gym``: a suite's schedule as a Gymnasium vector env with the runner's seeds, switched at the phase
end, episodes cut there not reported, and the Gymnasium 1.x conventions (spaces, SAME_STEP final observations,
``RecordEpisodeStatistics``' episode keys). The switching logic itself: ``tests/envs/test_scheduled.py``."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import rlplastic.gym
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.envs.spec import ActionSpec
from rlplastic.errors import UsageError

# Two MinAtar games, 2 envs x 16-step rollouts, 64 agent steps (32 vector steps) per phase.
SMALL = {"budget.steps_per_phase": 64, "agent.num_steps": 16, "suite.tasks": ["Breakout", "Asterix"]}
PHASE_STEPS = 32


def _make(seed: int = 0, num_envs: int | None = 2, **kw) -> rlplastic.gym.SuiteVectorEnv:
    return rlplastic.gym.make("minatar", "smoke", seed=seed, num_envs=num_envs, overrides=SMALL, **kw)


def _direct(env: rlplastic.gym.SuiteVectorEnv, phase: int):
    """A fresh env of ``phase`` built as the runner builds it, from its own seeds."""
    c = env.config
    task = env.phases[phase].task
    return make_env(c.env, task, env_seeds(c.seed, phase, env.num_envs), c.env_options, c.variants.get(task))


def _rollout(env: rlplastic.gym.SuiteVectorEnv, steps: int) -> tuple[list[np.ndarray], list]:
    obs, _ = env.reset()
    seen, steps_out = [obs], []
    for _ in range(steps):
        out = env.step(env.action_space.sample())
        seen.append(out[0])
        steps_out.append(out)
    return seen, steps_out


def test_switch_at_the_phase_end_into_the_runners_seeds() -> None:
    env = _make()
    assert env.phases[0].end == 64 and env.total_steps == 128
    obs, info = env.reset()
    direct = _direct(env, 0)
    np.testing.assert_array_equal(obs, direct.reset())
    assert list(info["task"]) == ["Breakout"] * 2 and not info["switched"].any()
    finished = []
    for k in range(1, PHASE_STEPS + 1):
        actions = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(actions)
        expected = direct.step(actions)  # the same env, stepped alongside
        np.testing.assert_array_equal(reward, expected.reward)
        np.testing.assert_array_equal(terminated, expected.terminated)
        if k < PHASE_STEPS:
            assert not info["switched"].any() and set(info["task"]) == {"Breakout"}
            np.testing.assert_array_equal(obs, expected.obs)
            if "_episode" in info:  # raw scores and lengths, as the adapter's Episode reports them
                mask = info["_episode"]
                got = list(zip(info["episode"]["r"][mask], info["episode"]["l"][mask], strict=True))
                assert got == [(e.ret, e.length) for e in expected.episodes]
                finished += got
    assert env.schedule.global_step == 64 and info["switched"].all() and set(info["task"]) == {"Asterix"}
    assert (info["phase"] == 1).all()
    np.testing.assert_array_equal(obs, _direct(env, 1).reset())  # the next phase's fresh envs
    running = ~expected.done
    assert running.any(), "pick a seed where an episode is in flight at the switch"
    assert truncated[running].all() and info["_final_obs"].all()
    for i in np.flatnonzero(running):  # cut: truncated, with the old env's last observation, not reported
        np.testing.assert_array_equal(info["final_obs"][i], expected.obs[i])
        assert not info.get("_episode", np.zeros(2, bool))[i]
    assert len(finished) > 0  # episodes that did end were reported
    direct.close()
    env.close()


def test_stepping_past_the_schedule_raises() -> None:
    env = _make()
    _rollout(env, 2 * PHASE_STEPS)
    assert env.done
    with pytest.raises(RuntimeError, match="schedule ended after 128 agent steps"):
        env.step(env.action_space.sample())


def test_gymnasium_spaces_and_conventions() -> None:
    env = _make()
    assert isinstance(env, gymnasium.vector.VectorEnv)
    assert env.metadata["autoreset_mode"] == gymnasium.vector.AutoresetMode.SAME_STEP
    assert env.single_observation_space == gymnasium.spaces.Box(0, 1, (10, 10, 10), np.uint8)
    assert env.single_action_space == gymnasium.spaces.Discrete(6)
    assert env.action_space.sample().shape == (2,)
    seen, steps = _rollout(env, 5)
    for obs in seen:
        assert env.observation_space.contains(obs)
    for _, reward, terminated, truncated, info in steps:
        assert reward.shape == terminated.shape == truncated.shape == (2,)
        assert {"task", "_task", "phase", "_phase", "switched", "_switched"} <= set(info)
    env.close()
    assert env.closed


def test_the_same_seed_gives_the_same_observations_another_seed_others() -> None:
    first, again, other = (_rollout(_make(seed), 40)[0] for seed in (0, 0, 1))  # across the switch
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))


def test_num_envs_sets_the_agents_option_and_rounds_phases_as_the_cli() -> None:
    env = _make(num_envs=3)
    obs, _ = env.reset()
    assert obs.shape == (3, 10, 10, 10) and env.num_envs == 3 and env.config.agent_options["num_envs"] == 3
    assert env.phases[0].steps == 96  # 64 rounded up to whole 3 x 16-step rollouts
    default = _make(num_envs=None)
    assert default.num_envs == default.config.agent_options["num_envs"] == 64


def test_a_variant_suite_and_bad_input() -> None:
    env = rlplastic.gym.make("scrambled", seed=0, num_envs=2, overrides=SMALL | {"suite.tasks": ["SI-s01", "SI-s02"]})
    obs, info = env.reset()
    np.testing.assert_array_equal(obs, _direct(env, 0).reset())  # permuted entries, as the runner sees them
    assert info["task"][0] == "SI-s01"
    with pytest.raises(ValueError, match=r"seeds are the run seed 0 .*make a new env with seed=5"):
        env.reset(seed=5)
    with pytest.raises(UsageError, match="no budget 'huge'"):
        rlplastic.gym.make("minatar", "huge")


def test_continuous_and_pixel_spaces() -> None:
    box = rlplastic.gym.action_space(ActionSpec(low=(-1.0, -2.0), high=(1.0, 2.0)))
    assert box == gymnasium.spaces.Box(np.array([-1, -2], np.float32), np.array([1, 2], np.float32))
    states = rlplastic.gym.observation_space("dmc", (24,), "float32")
    assert states.dtype == np.float32 and np.isneginf(states.low).all() and np.isposinf(states.high).all()
    pixels = rlplastic.gym.observation_space("atari", (4, 84, 84), "uint8")
    assert pixels.low.max() == 0 and pixels.high.min() == 255
