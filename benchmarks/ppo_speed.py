"""Training throughput of rlplastic's PPO against stable-baselines3's PPO, measured in the same run.

Same hyper-parameters (the suite's), same game, same number of environments, same network shape, both on
this machine's CPU threads; only the implementations differ. Prints steps/s and the ratio per suite.
Targets (issue 2): >= 1.5x SB3 on Atari, >= 2x on MinAtar.

    pip install -e ".[bench]" && python benchmarks/ppo_speed.py [--iterations 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np
import torch
from sb3_atari import sb3_atari_env
from torch import nn

from rlplastic import agents
from rlplastic.agents.learner import train
from rlplastic.envs import make_env
from rlplastic.envs.minatar import GAMES, MAX_CHANNELS
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite

TARGETS = {"atari": 1.5, "minatar": 2.0}
TASKS = {"atari": "SpaceInvaders", "minatar": "Breakout"}


def ours(suite_name: str, iterations: int) -> float:
    """Steps/s of rlplastic's PPO over ``iterations`` rollout+update cycles, after one warm-up cycle."""
    suite = load_suite(suite_name)
    opts = suite.agents["ppo"]
    env = make_env(suite.env, TASKS[suite_name], env_seeds(0, 0, opts["num_envs"]), suite.env_options)
    learner = agents.make("ppo", opts, agents.env_spec(env), seed=0)
    train(learner, env, 1)
    start = time.perf_counter()
    train(learner, env, iterations)
    rate = iterations * learner.iteration_steps / (time.perf_counter() - start)
    env.close()
    return rate


class MinAtarFeatures(nn.Module):
    """MinAtar's CNN (16 3x3 filters, 128 units) as an SB3 features extractor, like rlplastic's encoder."""

    def __init__(self, observation_space: gym.Space, features_dim: int = 128) -> None:
        super().__init__()
        self.features_dim = features_dim
        channels = observation_space.shape[0]
        self.net = nn.Sequential(nn.Conv2d(channels, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(1024, 128), nn.ReLU())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


class PaddedMinAtar(gym.ObservationWrapper):
    """MinAtar observations as rlplastic shapes them: channel-first, padded to 10 channels."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (MAX_CHANNELS, 10, 10), np.float32)

    def observation(self, obs: np.ndarray) -> np.ndarray:
        out = np.zeros((MAX_CHANNELS, 10, 10), np.float32)
        out[: obs.shape[2]] = obs.transpose(2, 0, 1)
        return out


def sb3_env(suite_name: str, num_envs: int):
    from stable_baselines3.common.env_util import make_vec_env

    if suite_name == "atari":
        return sb3_atari_env(TASKS["atari"], num_envs)
    import minatar.gym

    minatar.gym.register_envs()
    game = GAMES[TASKS["minatar"]].title().replace("_", "")
    return make_vec_env(f"MinAtar/{game}-v0", n_envs=num_envs, seed=0, wrapper_class=PaddedMinAtar)


def sb3(suite_name: str, iterations: int) -> float:
    """Steps/s of stable-baselines3's PPO with the suite's hyper-parameters, after one warm-up cycle."""
    from stable_baselines3 import PPO

    opts = load_suite(suite_name).agents["ppo"]
    batch = opts["num_envs"] * opts["num_steps"]
    policy_kwargs = {} if suite_name == "atari" else {"features_extractor_class": MinAtarFeatures, "net_arch": []}
    model = PPO(
        "CnnPolicy" if suite_name == "atari" else "MlpPolicy",
        sb3_env(suite_name, opts["num_envs"]),
        n_steps=opts["num_steps"],
        batch_size=batch // opts["num_minibatches"],
        n_epochs=opts["update_epochs"],
        learning_rate=opts["learning_rate"],
        gamma=opts["gamma"],
        gae_lambda=opts["gae_lambda"],
        clip_range=opts["clip_coef"],
        ent_coef=opts["ent_coef"],
        vf_coef=opts["vf_coef"],
        max_grad_norm=opts["max_grad_norm"],
        policy_kwargs=policy_kwargs,
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(batch)
    start = time.perf_counter()
    model.learn(iterations * batch, reset_num_timesteps=False)
    return iterations * batch / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suites", default="atari,minatar", help="comma-separated suites to measure")
    p.add_argument("--iterations", type=int, default=4, help="timed rollout+update cycles per measurement")
    p.add_argument("--repeats", type=int, default=2, help="alternating measurements per implementation (median)")
    args = p.parse_args()
    torch.set_num_threads(2)
    print(f"{'suite':8s} {'rlplastic steps/s':>18s} {'SB3 steps/s':>12s} {'ratio':>6s} {'target':>7s}")
    for suite_name in args.suites.split(","):
        mine, theirs = [], []
        for _ in range(args.repeats):
            mine.append(ours(suite_name, args.iterations))
            theirs.append(sb3(suite_name, args.iterations))
        a, b = statistics.median(mine), statistics.median(theirs)
        verdict = "met" if a / b >= TARGETS[suite_name] else "MISSED"
        print(
            f"{suite_name:8s} {a:18.0f} {b:12.0f} {a / b:6.2f} {TARGETS[suite_name]:6.1f}x {verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
