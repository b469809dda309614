"""DQN's TD target, exploration schedule and target updates, against values computed by hand."""

from __future__ import annotations

import pytest
import torch
from conftest import trained_learner
from torch import nn


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


def test_target_network_is_a_hard_copy_every_n_steps() -> None:
    learner = trained_learner(agent="dqn", target_network_frequency=50)  # 64 iterations of 1 step
    online, target = learner.networks["q"].state_dict(), learner.target_networks["q"].state_dict()
    # The last copy happened at step 50; 14 updates since then moved the online network away.
    assert not all(torch.equal(online[k], target[k]) for k in online)
    learner._update_target()
    assert all(
        torch.equal(learner.networks["q"].state_dict()[k], v)
        for k, v in learner.target_networks["q"].state_dict().items()
    )


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
