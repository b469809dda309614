"""Training throughput of each agent on this machine's CPU with 1 and 2 runs at once: what ``--jobs`` buys.

Each run trains its suite's agent (PPO on MinAtar Breakout, DQN on MinAtar Breakout, SAC on dm_control
walker-stand; replay agents past their warm-up, so every timed iteration updates) for ``--seconds`` in its own
process, with the torch threads ``--jobs`` gives it (the cores split between the runs, as the harness does).
Prints agent steps/s per run and for the machine (all runs together) for each number of runs at once.
``sb3_ppo`` and ``sb3_dqn`` are stable-baselines3's own algorithms with the same hyper-parameters, network and env,
driven through the same harness (``rlplastic/agents/sb3``): their rows beside ``ppo``/``dqn`` are the speed ratio
of the two implementations as a run of this suite trains them.

    python benchmarks/throughput.py [--seconds 30] [--jobs 1,2] [--agents ppo,sb3_ppo,...,sb3_sac] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import torch

from rlplastic import agents
from rlplastic.agents.learner import train
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.run.plan import suite_table, table_options
from rlplastic.suites import load_suite

CASES = {
    "ppo": ("minatar", "Breakout"),
    "sb3_ppo": ("minatar", "Breakout"),
    "dqn": ("minatar", "Breakout"),
    "sb3_dqn": ("minatar", "Breakout"),
    "sac": ("walker", "walker-stand"),
    "sb3_sac": ("walker", "walker-stand"),
}
ON_POLICY = ("ppo", "sb3_ppo")
REPLAY = {"learning_starts": 1000, "buffer_size": 100_000}  # a full-size buffer only costs memory


def one_run(agent: str, seed: int, threads: int, seconds: float, device: str) -> float:
    """Agent steps/s of one run training ``seconds`` after its warm-up (in a process of its own)."""
    torch.set_num_threads(threads)
    suite_name, task = CASES[agent]
    suite = load_suite(suite_name)
    options = table_options(suite.agents, suite_table(suite.agents, agent), agent)
    options |= REPLAY if agent not in ON_POLICY else {}
    env = make_env(suite.env, task, env_seeds(seed, 0, options.get("num_envs", 1)), suite.env_options)
    learner = agents.make(agent, options, agents.env_spec(env), seed=seed, device=device)
    train(learner, env, 1 if agent in ON_POLICY else REPLAY["learning_starts"] // learner.iteration_steps + 1)
    start, first = time.perf_counter(), learner.global_step
    while time.perf_counter() - start < seconds:
        learner.collect(lambda step, episode: None)
        learner.update(agents.Hooks())
    rate = (learner.global_step - first) / (time.perf_counter() - start)
    env.close()
    return rate


def measure(agent: str, jobs: int, seconds: float, device: str) -> list[float]:
    """Steps/s of each of ``jobs`` runs trained at once, each with its share of the cores."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(one_run, agent, seed, threads, seconds, device) for seed in range(jobs)]
        return [f.result() for f in futures]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="timed training per run (default 30)")
    p.add_argument("--jobs", default="1,2", help="numbers of runs at once to measure (default 1,2)")
    p.add_argument("--agents", default=",".join(CASES), help="agents to measure (default: all six)")
    p.add_argument("--device", default="cpu", help="device of every run (default cpu)")
    args = p.parse_args()
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    print(f"{'agent':8s} {'jobs':>4s} {'threads':>7s} {'steps/s per run':>16s} {'steps/s total':>14s}")
    for agent in args.agents.split(","):
        for jobs in (int(j) for j in args.jobs.split(",")):
            rates = measure(agent, jobs, args.seconds, args.device)
            threads = max(1, (os.cpu_count() or 1) // jobs)
            per_run = sum(rates) / len(rates)
            print(f"{agent:8s} {jobs:>4d} {threads:>7d} {per_run:>16,.0f} {sum(rates):>14,.0f}")


if __name__ == "__main__":
    main()
