"""Does an agent compute the same on a GPU as on the CPU, and how much faster? One seed per agent.

For PPO (MinAtar Breakout), DQN (MinAtar Breakout) and SAC (dm_control walker-stand), with the suites' settings
shrunk to a few iterations: a learner is built on the CPU and one on ``--against`` (default ``cuda``) with the
CPU one's weights; the CPU learner trains a few iterations for data; both then compute every network's loss
and gradient on one batch of it. Losses and gradient norms must agree within ``TOLERANCE`` (relative; TF32 is
switched off for the check, so the GPU computes in fp32 like the CPU: what remains is the order of sums).
Then each trains alone for ``--seconds`` and its agent steps/s are printed. Without CUDA it says so and exits 0;
``--against cpu`` runs the same comparison CPU against CPU (a check of this script, which must agree exactly).

    python benchmarks/device_check.py [--against cuda:0] [--seconds 10] [--deterministic]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator

import numpy as np
import torch

from rlplastic import agents
from rlplastic.agents.learner import train
from rlplastic.envs import make_env
from rlplastic.envs.seeding import env_seeds
from rlplastic.run import numerics
from rlplastic.suites import load_suite

TOLERANCE = 1e-3
SMALL = {"learning_starts": 256, "buffer_size": 20_000}  # replay agents: update within the check
CASES = {"ppo": ("minatar", "Breakout"), "dqn": ("minatar", "Breakout"), "sac": ("walker", "walker-stand")}


def setup(agent: str, device: str) -> tuple[agents.Learner, agents.VectorEnv]:
    suite_name, task = CASES[agent]
    suite = load_suite(suite_name)
    options = suite.agents.get(agent, {}) | (SMALL if agent != "ppo" else {})
    env = make_env(suite.env, task, env_seeds(0, 0, options.get("num_envs", 1)), suite.env_options)
    torch.manual_seed(0)
    return agents.make(agent, options, agents.env_spec(env), seed=0, device=device), env


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


@contextlib.contextmanager
def cpu_noise() -> Iterator[None]:
    """``torch.randn_like`` drawn from the CPU's generator and moved to the tensor's device: a GPU's own stream
    would give other noise, and the check compares arithmetic, not random streams."""
    real = torch.randn_like
    torch.randn_like = lambda t, **kw: real(t, device="cpu", **kw).to(t.device)
    try:
        yield
    finally:
        torch.randn_like = real


def terms(learner: agents.Learner, batch: agents.Batch) -> dict[str, tuple[float, float]]:
    """Each network's loss on ``batch`` and the norm of its gradient."""
    out = {}
    with torch.random.fork_rng(devices=[]), cpu_noise():
        torch.manual_seed(1)  # losses that sample (SAC's actions) draw the same noise on every device
        for name, loss in learner.losses(batch).items():
            params = [p for p in learner.networks[name].parameters() if p.requires_grad]
            grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            norm = torch.sqrt(sum(g.float().pow(2).sum() for g in grads if g is not None))
            out[name] = (float(loss.detach()), float(norm))
    return out


def compare(agent: str, against: str) -> float:
    """The largest relative difference of any loss or gradient norm between the CPU and ``against``."""
    cpu, env = setup(agent, "cpu")
    other, other_env = setup(agent, against)
    other_env.close()
    warm = 1 if agent == "ppo" else SMALL["learning_starts"] // cpu.iteration_steps + 2
    train(cpu, env, warm)
    env.close()
    other.load_state_dict(cpu.state_dict())  # the same weights, targets, optimiser state and data
    batch = cpu.sample(256, np.random.default_rng(0))
    on_other = {k: v.to(other.device) for k, v in batch.items()}
    (cpu_terms, other_terms), worst = (terms(cpu, batch), terms(other, on_other)), 0.0
    for name, (loss, norm) in cpu_terms.items():
        other_loss, other_norm = other_terms[name]
        worst = max(worst, relative(loss, other_loss), relative(norm, other_norm))
        print(f"  {agent} {name}: loss {loss:.6g} vs {other_loss:.6g}, grad norm {norm:.6g} vs {other_norm:.6g}")
    return worst


def speed(agent: str, device: str, seconds: float) -> float:
    """Agent steps/s of ``agent`` training alone on ``device`` (after a warm-up that reaches updates)."""
    learner, env = setup(agent, device)
    warm = 1 if agent == "ppo" else SMALL["learning_starts"] // learner.iteration_steps + 2
    train(learner, env, warm)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, first = time.perf_counter(), learner.global_step
    learner.start_phase(env, 10**6)
    while time.perf_counter() - start < seconds:
        learner.collect(lambda step, episode: None)
        learner.update(agents.Hooks())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    rate = (learner.global_step - first) / (time.perf_counter() - start)
    env.close()
    return rate


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", default="cuda", help="the device compared with the CPU (default cuda)")
    p.add_argument("--seconds", type=float, default=10.0, help="training time per agent and device for steps/s")
    p.add_argument("--deterministic", action="store_true", help="as the harness's --deterministic: its cost")
    args = p.parse_args()
    if args.deterministic:
        numerics.apply(numerics.Options(device="cpu", deterministic=True))
    if args.against.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA on this machine (torch.cuda.is_available() is False): nothing to compare; exit 0")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    failed = []
    for agent in CASES:
        worst = compare(agent, args.against)
        ok = worst <= TOLERANCE
        failed += [] if ok else [agent]
        cpu, other = speed(agent, "cpu", args.seconds), speed(agent, args.against, args.seconds)
        print(
            f"{agent}: largest relative difference {worst:.2e} ({'within' if ok else 'ABOVE'} {TOLERANCE:g}); "
            f"steps/s cpu {cpu:,.0f}, {args.against} {other:,.0f} ({other / cpu:.2f}x)"
        )
    if failed:
        print(f"FAILED: {', '.join(failed)} differ beyond {TOLERANCE:g}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
