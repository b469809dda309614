"""The continuous-action pieces of PPO: running observation statistics, reward scaling and the Gaussian policy,
each against a computation by hand or numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlplastic.agents.normalize import RewardScaler, RunningMeanStd
from rlplastic.agents.policies import GaussianActorCritic


def test_running_mean_std_equals_numpy_over_all_batches() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (n, 4)) for n in (1, 5, 17)]
    rms = RunningMeanStd((4,))
    for b in batches:
        rms.update(b)
    data = np.concatenate(batches)
    # the 1e-4 prior count at mean 0, variance 1 weighs ~4e-6 against 23 samples
    assert np.allclose(rms.mean, data.mean(0), atol=1e-4) and np.allclose(rms.var, data.var(0), rtol=1e-3)


def test_reward_scaler_divides_by_the_std_of_the_discounted_return() -> None:
    scaler = RewardScaler(num_envs=1, gamma=0.5, clip=10.0)
    for reward, terminated in ((1.0, False), (2.0, True), (4.0, False)):
        scaled = scaler(np.array([reward]), np.array([terminated]), update=True)
    returns = [1.0, 2.0, 0.5 * 2.0 + 4.0]  # G <- gamma (1 - terminated) G + r: a terminal step restarts G at r
    rms = RunningMeanStd()
    for g in returns:
        rms.update(np.array([g]))
    assert scaled[0] == pytest.approx(4.0 / math.sqrt(rms.var + 1e-8), rel=1e-6)


def test_gaussian_log_prob_and_entropy_by_hand() -> None:
    mean, log_std, action = torch.zeros(1, 3), torch.full((1, 3), math.log(2.0)), torch.ones(1, 3)
    logp = GaussianActorCritic._log_prob(mean, log_std, action)
    per_dim = -0.5 * (1 / 2) ** 2 - math.log(2.0) - 0.5 * math.log(2 * math.pi)
    assert logp.item() == pytest.approx(3 * per_dim, rel=1e-6)
