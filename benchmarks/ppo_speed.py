"""Training throughput of rlplastic's PPO against stable-baselines3's PPO, and against this CPU's limit.

Same hyper-parameters (the suite's), same game, same number of environments, same network shape, both on
this machine's 2 CPU threads; only the implementations differ. Every measurement runs in a fresh process
(allocator settings and warm caches never leak between them), implementations alternate over repeats, and
the medians are compared. Each measurement times ``--iterations`` rollout+update cycles after one warm-up
cycle and splits them into parts: env stepping, rollout inference, the update, and the rest (glue).

The limit: in the same process, after the timed cycles, each necessary part is measured *alone* on the same
env and network (env-only: the vector env stepped with random actions; inference-only: the policy on the
rollout's observations; update-only: the update repeated on the last rollout). Their sum is the least time
an iteration can take when the parts run one after another, so ``limit`` = steps / that sum, and the
fraction of the limit reached is how much of the time goes to necessary work rather than overhead.

Targets (issue 12): on Atari >= 2.0x SB3, on MinAtar >= 1.5x SB3, >= 90 % of the limit; rlplastic as the
suite ships it (its ``precision``). bf16 is measured too where the CPU multiplies bf16 natively (or with
``--bf16``); elsewhere it is emulated, many times slower, and skipped.

    pip install -e ".[bench]" && python benchmarks/ppo_speed.py [--suites atari,minatar] [--iterations 4]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_atari import sb3_atari_env
from torch import nn
from versus_sb3 import measure, precisions_to_measure

from rlplastic import agents
from rlplastic.agents.learner import Hooks
from rlplastic.envs import make_env
from rlplastic.envs.minatar import GAMES, MAX_CHANNELS
from rlplastic.envs.seeding import env_seeds
from rlplastic.suites import load_suite

TARGETS = {"atari": 2.0, "minatar": 1.5}
LIMIT_TARGET = 0.9
TASKS = {"atari": "SpaceInvaders", "minatar": "Breakout"}
PARTS = ("env", "inference", "update")
Result = dict[str, Any]


class Clock:
    """Seconds per named part, accumulated by wrapping the functions that do each part."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, part: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - start

        return timed


def shipped_precision(suite_name: str) -> str:
    return load_suite(suite_name).agents["ppo"].get("precision", "fp32")


def _limits(env: Any, step: Callable, learner: Any, act: Callable, iterations: int) -> dict[str, float]:
    """Seconds per iteration of each necessary part run alone, on this env and network."""
    cfg, rng = learner.cfg, np.random.default_rng(0)
    n = learner.spec.action_spec.n
    actions = rng.integers(0, n, (iterations * cfg.num_steps, env.num_envs))
    start = time.perf_counter()
    for a in actions:
        step(a)
    env_s = time.perf_counter() - start
    obs = learner._rollout.obs
    start = time.perf_counter()
    for _ in range(iterations):
        for t in range(cfg.num_steps):
            with torch.inference_mode():
                act(learner.networks, obs[t])
    inference_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(iterations):
        learner.update(Hooks())
    update_s = time.perf_counter() - start
    return {"env": env_s / iterations, "inference": inference_s / iterations, "update": update_s / iterations}


def ours(suite_name: str, iterations: int, precision: str) -> Result:
    """rlplastic's PPO: steps/s, seconds per iteration by part, and each part's time alone."""
    suite = load_suite(suite_name)
    opts = suite.agents["ppo"] | {"precision": precision}
    env = make_env(suite.env, TASKS[suite_name], env_seeds(0, 0, opts["num_envs"]), suite.env_options)
    learner = agents.make("ppo", opts, agents.env_spec(env), seed=0)
    clock, step, act = Clock(), env.step, learner.family.act
    env.step = clock.wrap("env", env.step)
    learner.family.act = clock.wrap("inference", act)
    learner.family.value = clock.wrap("inference", learner.family.value)
    update = clock.wrap("update", learner.update)
    learner.start_phase(env, iterations + 1)
    learner.collect(lambda *a: None)
    update(Hooks())
    clock.seconds.clear()
    start = time.perf_counter()
    for _ in range(iterations):
        learner.collect(lambda *a: None)
        update(Hooks())
    total = time.perf_counter() - start
    limits = _limits(env, step, learner, act, iterations)
    env.close()
    parts = {k: v / iterations for k, v in clock.seconds.items()}
    return {
        "rate": iterations * learner.iteration_steps / total,
        "parts": parts,
        "total": total / iterations,
        "limits": limits,
        "steps": learner.iteration_steps,
    }


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


def sb3(suite_name: str, iterations: int) -> Result:
    """stable-baselines3's PPO with the suite's hyper-parameters: steps/s and seconds per iteration by part
    (inference is the rollout's time outside env stepping, so it includes SB3's rollout glue)."""
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
    clock = Clock()
    model.env.step = clock.wrap("env", model.env.step)
    model.collect_rollouts = clock.wrap("rollout", model.collect_rollouts)
    model.train = clock.wrap("update", model.train)
    start = time.perf_counter()
    model.learn(iterations * batch, reset_num_timesteps=False)
    total = time.perf_counter() - start
    s = {k: v / iterations for k, v in clock.seconds.items()}
    parts = {"env": s["env"], "inference": s["rollout"] - s["env"], "update": s["update"]}
    return {"rate": iterations * batch / total, "parts": parts, "total": total / iterations}


def median_result(results: list[Result]) -> Result:
    """The run with the median rate (its parts stay consistent with its total)."""
    return sorted(results, key=lambda r: r["rate"])[len(results) // 2]


def part_cells(r: Result) -> str:
    other = r["total"] - sum(r["parts"][p] for p in PARTS)
    return " ".join(f"{1000 * r['parts'][p]:9.0f}" for p in PARTS) + f" {1000 * other:9.0f}"


def report(suite_name: str, runs: dict[str, list[Result]]) -> None:
    """Print one suite's table: rates and ms per iteration by part, ratios, the limit and its fraction."""
    med = {name: median_result(rs) for name, rs in runs.items()}
    shipped = f"rlplastic {shipped_precision(suite_name)}"
    print(f"\n{suite_name}: {TASKS[suite_name]}, {med[shipped]['steps']} steps per iteration; ms per iteration")
    print(f"  {'implementation':18s} {'steps/s':>8s} {'env':>9s} {'inference':>9s} {'update':>9s} {'other':>9s}")
    for name, r in med.items():
        print(f"  {name:18s} {r['rate']:8.0f} {part_cells(r)}")
    target = TARGETS[suite_name]
    for name in (n for n in med if n != "SB3"):
        ratio = med[name]["rate"] / med["SB3"]["rate"]
        mark = "(shipped) " if name == shipped else ""
        verdict = ("met" if ratio >= target else "MISSED") if name == shipped else ""
        print(f"  {name} / SB3: {ratio:.2f}x {mark}target {target:.1f}x {verdict}")
    r = med[shipped]
    lim = r["limits"]
    alone = sum(lim.values())
    rates = ", ".join(f"{p}-only {r['steps'] / lim[p]:,.0f} steps/s ({1000 * lim[p]:.0f} ms)" for p in PARTS)
    fraction = alone / r["total"]
    verdict = "met" if fraction >= LIMIT_TARGET else "MISSED"
    print(f"  limit ({shipped}): {rates}")
    print(
        f"  serial limit {r['steps'] / alone:,.0f} steps/s; reached {100 * fraction:.0f} % "
        f"(target {100 * LIMIT_TARGET:.0f} %) {verdict}",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suites", default="atari,minatar", help="comma-separated suites to measure (atari, minatar)")
    p.add_argument("--iterations", type=int, default=4, help="timed rollout+update cycles per measurement")
    p.add_argument("--repeats", type=int, default=3, help="alternating fresh-process measurements per implementation")
    p.add_argument("--bf16", action="store_true", help="measure bf16 autocast even where this CPU emulates it")
    args = p.parse_args()
    bf16 = "bf16" in precisions_to_measure(args.bf16)
    for suite_name in args.suites.split(","):
        if suite_name not in TASKS:
            p.error(f"unknown suite {suite_name!r}: choose from {', '.join(TASKS)}")
        precisions = ["fp32", "bf16"] if bf16 or shipped_precision(suite_name) == "bf16" else ["fp32"]
        runs: dict[str, list[Result]] = {f"rlplastic {x}": [] for x in precisions} | {"SB3": []}
        for _ in range(args.repeats):
            for x in precisions:
                runs[f"rlplastic {x}"].append(measure(ours, suite_name, args.iterations, x))
            runs["SB3"].append(measure(sb3, suite_name, args.iterations))
            print("  run: " + ", ".join(f"{k} {v[-1]['rate']:.0f} steps/s" for k, v in runs.items()), flush=True)
        report(suite_name, runs)


if __name__ == "__main__":
    main()
