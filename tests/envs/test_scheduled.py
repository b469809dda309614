"""A schedule as one vector env: switched at exactly each phase's end, episodes in flight cut (truncated, with
their last observation, not reported), the next phase's env fresh, and loud errors past the end or on bad input.
The real environments and the runner's seeds: ``tests/test_gym.py``."""

from __future__ import annotations

import numpy as np
import pytest

from rlplastic.envs import Phase, make_schedule
from rlplastic.envs.scheduled import ScheduledVectorEnv
from rlplastic.envs.spec import ActionSpec, Episode, StepResult

N = 2


class Fake:
    """``N`` envs whose observation is (tag, steps since reset, env); an episode ends where ``ends`` says:
    ``ends[(t, i)]`` after step t in env i, terminated. A new episode's first observation has steps = -1."""

    def __init__(self, tag: int, ends: frozenset = frozenset(), shape: tuple[int, ...] = (3,)) -> None:
        self.num_envs, self.obs_shape, self.action_spec = N, shape, ActionSpec(n=2)
        self.frame_stack, self.obs_dtype = 1, "float32"
        self.tag, self.ends, self.t, self.closed, self.resets = tag, ends, 0, False, 0

    def _obs(self) -> np.ndarray:
        return np.array([[self.tag, self.t, i] for i in range(N)], dtype=np.float32)

    def reset(self) -> np.ndarray:
        self.t, self.resets = 0, self.resets + 1
        return self._obs()

    def step(self, actions: np.ndarray) -> StepResult:
        assert not self.closed and actions.shape == (N,)
        self.t += 1
        done = np.array([(self.t, i) in self.ends for i in range(N)])
        final = np.where(done[:, None], self._obs(), 0).astype(np.float32)
        obs = self._obs()
        obs[done, 1] = -1
        episodes = [Episode(float(i), self.t) for i in np.flatnonzero(done)]
        return StepResult(obs, np.ones(N, np.float32), done, np.zeros(N, bool), final, episodes)

    def close(self) -> None:
        self.closed = True


def _schedule(phases: list[Phase], ends: frozenset = frozenset()) -> tuple[ScheduledVectorEnv, list[Fake]]:
    opened: list[Fake] = []

    def factory(phase: Phase) -> Fake:
        opened.append(Fake(phase.index, ends))
        return opened[-1]

    return ScheduledVectorEnv(phases, factory), opened


ACT = np.zeros(N, dtype=np.int64)


def test_switches_at_exactly_the_phase_end_to_a_fresh_env() -> None:
    env, opened = _schedule(make_schedule(["A", "B"], 8, 1))  # 4 vector steps per phase
    env.reset()
    for k in range(1, 4):
        result = env.step(ACT)
        assert (env.task, env.switched, env.global_step) == ("A", False, 2 * k)
        assert not result.truncated.any()
    result = env.step(ACT)
    assert (env.task, env.phase.index, env.switched, env.global_step) == ("B", 1, True, 8)
    assert len(opened) == 2 and opened[0].closed and not opened[1].closed and opened[1].resets == 1
    np.testing.assert_array_equal(result.obs, Fake(1).reset())  # the new env's first observation
    env.step(ACT)
    assert env.switched is False


def test_the_switch_cuts_running_episodes_and_reports_only_finished_ones() -> None:
    ends = frozenset({(4, 0)})  # env 0's episode ends in phase A's last step; env 1's is still running
    env, _ = _schedule(make_schedule(["A", "B"], 8, 1), ends)
    env.reset()
    for _ in range(3):
        env.step(ACT)
    result = env.step(ACT)
    assert env.switched
    np.testing.assert_array_equal(result.terminated, [True, False])  # as the old env said
    np.testing.assert_array_equal(result.truncated, [False, True])  # the switch cut env 1
    np.testing.assert_array_equal(env.cut, [False, True])
    np.testing.assert_array_equal(result.final_obs, [[0, 4, 0], [0, 4, 1]])  # the old env's last observations
    assert result.episodes == [Episode(0.0, 4)]  # env 1's cut episode is not a finished one


def test_the_last_phase_end_cuts_episodes_and_stepping_on_raises() -> None:
    env, opened = _schedule(make_schedule(["A"], 4, 1))
    env.reset()
    env.step(ACT)
    result = env.step(ACT)
    assert env.done and not env.switched and opened[0].closed and len(opened) == 1
    np.testing.assert_array_equal(result.truncated, [True, True])
    np.testing.assert_array_equal(result.final_obs, result.obs)
    assert result.episodes == []
    with pytest.raises(RuntimeError, match=r"schedule ended after 4 agent steps .*at most total_steps"):
        env.step(ACT)
    with pytest.raises(RuntimeError, match="schedule ended"):
        env.reset()


def test_counts_agent_steps_over_the_whole_schedule() -> None:
    env, opened = _schedule(make_schedule(["A", "B", "A"], 4, 1))
    assert (env.total_steps, env.global_step, env.num_envs, env.obs_shape) == (12, 0, N, (3,))
    env.reset()
    tasks = []
    while not env.done:
        env.step(ACT)
        tasks.append(env.task)
    assert tasks == ["A", "B", "B", "A", "A", "A"] and env.global_step == 12
    assert [f.tag for f in opened] == [0, 1, 2] and all(f.closed for f in opened)


def test_reset_starts_new_episodes_without_restarting_the_schedule() -> None:
    env, opened = _schedule(make_schedule(["A", "B"], 4, 1))
    env.reset()
    env.step(ACT)
    obs = env.reset()
    assert env.task == "A" and env.global_step == 2 and opened[0].resets == 2 and len(opened) == 1
    np.testing.assert_array_equal(obs[:, 1], [0, 0])


def test_step_before_reset_is_refused() -> None:
    env, _ = _schedule(make_schedule(["A"], 4, 1))
    with pytest.raises(RuntimeError, match="call reset\\(\\) first"):
        env.step(ACT)


def test_phases_whose_spaces_differ_are_refused() -> None:
    shapes = {0: (3,), 1: (4,)}
    closed = []

    def factory(phase: Phase) -> Fake:
        env = Fake(phase.index, shape=shapes[phase.index])
        closed.append(env)
        return env

    env = ScheduledVectorEnv(make_schedule(["A", "B"], 2, 1), factory)
    env.reset()
    with pytest.raises(ValueError, match=r"task 'B' has observations \(4,\).*must share observation and action"):
        env.step(ACT)
    assert closed[1].closed
    with pytest.raises(RuntimeError, match="closed \\(by close\\(\\) or a failed phase switch\\)"):
        env.step(ACT)


@pytest.mark.parametrize(
    "phases,message",
    [
        ([], "at least one phase"),
        ([Phase(0, "A", 0, 4), Phase(1, "B", 6, 4)], "phase 2:B starts at step 6, not at 1:A's end 4"),
        (make_schedule(["A"], 3, 1), "lasts 3 agent steps, not a multiple of its 2 envs"),
    ],
)
def test_bad_schedules_are_refused(phases: list[Phase], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _schedule(phases)
