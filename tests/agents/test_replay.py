"""The frame-once replay buffer returns exactly the observations the real environments produced."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlplastic.agents.optim import CenteredRMSprop
from rlplastic.agents.replay import FrameReplay
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds


def record(kind: str, task: str, steps: int, capacity: int, cut_at: int, **options):
    """Step a real vector env with random actions into a FrameReplay and into plain per-step storage."""
    env = make_env(kind, task, env_seeds(0, 0, 2), options)
    rng = np.random.default_rng(0)
    buffer = FrameReplay(capacity, 2, env.obs_shape, env.frame_stack, np.random.default_rng(1))
    obs, plain = env.reset(), []
    for t in range(steps):
        actions = rng.integers(0, env.action_spec.n, 2)
        result = env.step(actions)
        buffer.add(obs, actions, result.reward, result.terminated, result.truncated, result.final_obs)
        ended = result.done.reshape(-1, *[1] * (obs.ndim - 1))
        plain.append([obs, actions, result.reward, np.where(ended, result.final_obs, result.obs), result.terminated])
        obs = result.obs
        if t == cut_at:  # a task switch: the running episodes end here, continued from a fresh reset
            buffer.cut(obs)
            plain[-1][3] = np.where(result.done.reshape(ended.shape), plain[-1][3], obs)
            obs = env.reset()
    env.close()
    return buffer, plain


def check_every_sampleable_transition(buffer: FrameReplay, plain: list) -> int:
    held = min(buffer.written, buffer.slots)
    newest = (buffer.written - 1) % buffer.slots
    checked = 0
    for env in range(buffer.num_envs):
        ages = np.arange(held)
        envs = np.full(held, env)
        slots = (newest - ages) % buffer.slots
        valid = buffer._valid(ages, envs, slots)
        batch = buffer._gather(envs[valid], slots[valid])
        for row, age in enumerate(ages[valid]):
            obs, action, reward, next_obs, terminated = plain[buffer.written - 1 - age]
            assert np.array_equal(batch["obs"][row].numpy(), obs[env]), age
            assert batch["actions"][row] == action[env] and batch["rewards"][row] == reward[env]
            assert batch["terminated"][row] == float(terminated[env])
            if not terminated[env]:  # after a termination the next observation is never used
                assert np.array_equal(batch["next_obs"][row].numpy(), next_obs[env]), age
            checked += 1
    return checked


def test_atari_stacks_rebuilt_from_single_frames_equal_the_env_observations() -> None:
    # 48-frame episodes (12 agent steps) truncate often; capacity 2 x 100 wraps the ring.
    buffer, plain = record("atari", "Breakout", 260, 200, cut_at=130, max_num_frames_per_episode=48)
    assert buffer.truncated.any() and buffer.written > buffer.slots
    assert check_every_sampleable_transition(buffer, plain) > 150


def test_minatar_terminations_truncations_and_a_task_switch() -> None:
    buffer, plain = record("minatar", "Breakout", 300, 1000, cut_at=150, max_episode_steps=30)
    assert buffer.terminated.any() and buffer.truncated.any()
    assert check_every_sampleable_transition(buffer, plain) >= 2 * 299  # all but the newest running steps


def test_sampling_is_uniform_over_sampleable_transitions_and_reproducible() -> None:
    buffer, _ = record("minatar", "Breakout", 120, 1000, cut_at=-1, max_episode_steps=30)
    env, slot = buffer.draw(24_000)
    counts = np.zeros((2, buffer.slots), dtype=int)
    np.add.at(counts, (env, slot), 1)
    drawn = counts[counts > 0]
    assert 238 <= len(drawn) <= 240  # every stored step but the newest running ones
    assert drawn.min() > 60 and drawn.max() < 145  # expected 100 each
    state = buffer.state_dict()
    a = buffer.sample(64)
    buffer.load_state_dict(state)
    assert torch.equal(buffer.sample(64)["obs"], a["obs"])


def test_memory_of_one_million_atari_transitions() -> None:
    per = FrameReplay.bytes_per_transition((4, 84, 84), 4)
    assert per == 84 * 84 + 8 + 4 + 1 + 1 + 4
    assert per * 1_000_000 / 1e9 == pytest.approx(7.07, abs=0.01)  # vs 56 GB for stacked obs and next_obs


def test_centered_rmsprop_equals_torch_and_survives_a_constant_gradient() -> None:
    torch.manual_seed(0)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    ours = CenteredRMSprop(a.parameters(), lr=1e-3, alpha=0.95, eps=0.01)
    theirs = torch.optim.RMSprop(b.parameters(), lr=1e-3, alpha=0.95, eps=0.01, centered=True)
    for _ in range(20):
        x = torch.randn(8, 5)
        for net, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            net(x).pow(2).sum().backward()
            opt.step()
    assert all(torch.allclose(p, q, atol=1e-7) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    # A constant gradient: E[g^2] - E[g]^2 is 0 exactly and rounds below 0; torch's version can go NaN.
    w = torch.nn.Parameter(torch.tensor([0.3, -0.7, 1e-3]))
    opt = CenteredRMSprop([w], lr=1e-3, alpha=0.95, eps=0.01)
    for _ in range(3000):
        w.grad = torch.tensor([0.123456, -3.3e-4, 7.77])
        opt.step()
    assert torch.isfinite(w).all()


def test_centered_rmsprop_weight_decay_is_decoupled() -> None:
    w = torch.nn.Parameter(torch.tensor([2.0, -4.0]))
    opt = CenteredRMSprop([w], lr=0.1, alpha=0.95, eps=0.01, weight_decay=0.5)
    w.grad = torch.zeros(2)  # no gradient: the step only decays, w <- w * (1 - lr * wd)
    opt.step()
    assert torch.allclose(w, torch.tensor([2.0, -4.0]) * (1 - 0.1 * 0.5))
