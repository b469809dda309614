"""DQN's TD target, exploration schedule and target updates, against values computed by hand."""

from __future__ import annotations

import pytest
import torch
from conftest import new_learner, trained_learner
from torch import nn

from rlplastic.agents.learner import Hooks


class Fixed(nn.Module):
    """A 'network' whose Q-values are given per observation index (obs[:, 0, 0, 0] selects the row)."""

    def __init__(self, table: list[list[float]]) -> None:
        super().__init__()
        self.table = torch.tensor(table)
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.table[obs[:, 0, 0, 0].long()] + 0 * self.dummy


def batch() -> dict[str, torch.Tensor]:
    obs = torch.zeros(2, 10, 10, 10, dtype=torch.uint8)
    next_obs = obs.clone()
    next_obs[:, 0, 0, 0] = torch.tensor([1, 2])
    return {
        "obs": obs,
        "actions": torch.tensor([0, 1]),
        "rewards": torch.tensor([1.0, 0.5]),
        "next_obs": next_obs,
        "terminated": torch.tensor([0.0, 1.0]),
    }


@pytest.mark.parametrize("double,expected_first", [(False, 1.0 + 0.99 * 5.0), (True, 1.0 + 0.99 * 2.0)])
def test_td_target_by_hand(double: bool, expected_first: float) -> None:
    learner = trained_learner(agent="dqn", double=double)
    online = [[0.3, 0.7, 0.0], [1.0, 9.0, 0.0], [0.0, 0.0, 0.0]]  # online argmax at next state 1: action 1
    target = [[0.0, 0.0, 0.0], [5.0, 2.0, 0.0], [7.0, 7.0, 7.0]]  # target max at next state 1: 5 (action 0)
    learner.networks["q"], learner.target_networks["q"] = Fixed(online), Fixed(target)
    q, y = learner._td(batch())
    assert q.tolist() == pytest.approx([0.3, 0.7])  # Q(s, a) of the actions taken
    # second transition terminated: y = r only. First: r + gamma * max_a' Q_target (DQN)
    # or r + gamma * Q_target(s', argmax_a' Q_online(s')) (Double DQN).
    assert y.tolist() == pytest.approx([expected_first, 0.5])


def test_epsilon_decays_linearly_within_each_phase() -> None:
    learner = trained_learner(agent="dqn", exploration_fraction=0.5, start_e=1.0, end_e=0.1)
    learner._phase_start, learner._phase_steps = 100, 1000
    learner.global_step = 100
    assert learner.epsilon() == pytest.approx(1.0)
    learner.global_step = 350  # a quarter of the phase = half of the decay
    assert learner.epsilon() == pytest.approx(0.55)
    learner.global_step = 900
    assert learner.epsilon() == pytest.approx(0.1)


def test_exploration_steps_fix_the_decay_in_steps_whatever_the_run_length() -> None:
    """C-CHAIN's MinAtar DQN decays epsilon 1 -> 0.1 over a fixed number of steps: ``exploration_steps``
    overrides the fraction of the phase or run."""
    learner = trained_learner(agent="dqn", epsilon_schedule="run", exploration_steps=1000, start_e=1.0, end_e=0.1)
    learner._run = (0, 1_000_000)  # a fraction of 0.1 would decay over 100k steps
    learner.global_step = 500
    assert learner.epsilon() == pytest.approx(0.55)
    learner.global_step = 1000
    assert learner.epsilon() == pytest.approx(0.1)
    learner.global_step = 400_000  # a later phase: no restart under the run schedule
    assert learner.epsilon() == pytest.approx(0.1)


def params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def target_updates(steps: int, **options) -> list[tuple[int, list, list, list]]:
    """Train DQN ``steps`` iterations and return, for every iteration in which the agent itself changed its
    target network: the global step, the target before and after, and the online network at that moment."""
    learner, env = new_learner(agent="dqn", **options)
    learner.start_phase(env, steps)
    seen = []
    for _ in range(steps):
        before = params(learner.target_networks["q"])
        learner.collect(lambda *a: None)
        learner.update(Hooks())
        after = params(learner.target_networks["q"])
        if any(not torch.equal(b, a) for b, a in zip(before, after, strict=True)):
            seen.append((learner.global_step, before, after, params(learner.networks["q"])))
    env.close()
    return seen


@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_target_network_follows_the_online_one_every_n_steps(tau: float) -> None:
    """Only at multiples of ``target_network_frequency`` once learning has started (CleanRL's dqn), and then
    target <- tau * online + (1 - tau) * target; tau = 1 is a hard copy, exact."""
    updates = target_updates(200, target_network_frequency=20, tau=tau)  # 1 env, 1 step per update, starts at 32
    # At step 20 nothing has been learned yet (no update before learning_starts = 32): nothing to copy.
    assert [step for step, *_ in updates] == list(range(40, 201, 20))
    tolerance = {"rtol": 0.0, "atol": 0.0} if tau == 1.0 else {"rtol": 1e-5, "atol": 1e-7}
    for _, before, after, online in updates:
        for b, a, o in zip(before, after, online, strict=True):
            torch.testing.assert_close(a, tau * o + (1 - tau) * b, **tolerance)


def test_bf16_precision_gives_nearly_the_fp32_td_error() -> None:
    learner = trained_learner(agent="dqn")
    sample = learner.sample(64)
    q32, y32 = learner._td(sample)
    learner.cfg = type(learner.cfg)(**{**vars(learner.cfg), "precision": "bf16"})
    q16, y16 = learner._td(sample)
    assert q16.dtype == torch.float32 and y16.dtype == torch.float32
    scale = q32.abs().max()
    assert (q16 - q32).abs().max() <= 0.02 * scale and (y16 - y32).abs().max() <= 0.02 * scale + 1e-3
    assert not torch.equal(q16, q32)  # the forward really ran in bfloat16
