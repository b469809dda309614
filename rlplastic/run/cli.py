"""``python -m rlplastic.bench``: plan suite x method x seed runs, run them, print the leaderboard."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from rlplastic import agents, configs, interventions
from rlplastic.errors import Parser, UsageError
from rlplastic.report import commands as report
from rlplastic.run import estimate, executor, numerics, sweep
from rlplastic.run.overrides import parse_assignments
from rlplastic.run.plan import method_parts, plan
from rlplastic.run.runner import RunResult
from rlplastic.suites import available_suites, load_suite

PROG = "python -m rlplastic.bench"
LONGEST_FILE_NAME = 128  # a run folder's deepest file: tensorboard/events.out.tfevents.<time>.<host>.<pid>.<n>
SMOKE_WARNING = (
    "NOTE: the smoke budget checks that everything runs; its numbers are NOT research results. "
    "Use --budget short (hours) or --budget paper (the published length) for evidence."
)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        description="Train agents through a sequence of tasks with a plasticity intervention applied at every "
        "task switch, and compare it with the baselines 'none' (keep training) and 'reset' (from scratch).",
        epilog="Example: python -m rlplastic.bench --suite minatar --method fire --seeds 3 --budget short. "
        "Rebuild leaderboards from run folders alone (no training): python -m rlplastic.bench table --out results, "
        "and the plots: python -m rlplastic.bench plot --out results (see table --help).",
    )
    p.add_argument(
        "--suite",
        help=f"a shipped suite ({', '.join(available_suites())}; --list describes them) or the path of your own "
        "suite .toml file",
    )
    p.add_argument(
        "--method",
        default="fire",
        help="intervention(s) to evaluate, comma-separated; join methods with '+' to apply them in "
        "order (e.g. lnwd+fire). The baselines none and reset are always added. Default: fire",
    )
    p.add_argument(
        "--agent",
        help="agent to train: ppo, dqn, sac or a plug-in's (--list names them; default: the suite's own: ppo for "
        "atari and minatar, sac for the dm_control suites, where ppo uses a Gaussian policy); the suite's "
        "[agents.NAME] table overrides the agent's defaults (--describe NAME shows them)",
    )
    p.add_argument(
        "--preset",
        help="a named protocol of the suite (an agent, its settings and when methods act), e.g. fire_dqn on "
        "atari (the FIRE paper's DQN) or fire_sac on humanoid (its SAC); --list shows them",
    )
    p.add_argument("--seeds", type=int, default=1, help="number of seeds per method (default 1)")
    p.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed, first-seed+1, ... (default 0)")
    p.add_argument(
        "--budget",
        default="smoke",
        help="training length defined by the suite: smoke (minutes, a check that things run), "
        "short (hours here) or paper (the published length; days on 2 cores). Default: smoke",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="output folder; runs go to OUT/<suite>/<agent>-<budget>/<method>/seed_<n> (default: results). "
        "A finished run there is reused only if its stored configuration equals the requested one",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs trained at once in separate processes, sharing the CPU cores (default 1)",
    )
    p.add_argument(
        "--executor",
        default="local",
        choices=["local", "ray"],
        help="where runs train: local (this machine, --jobs processes) or ray (a Ray cluster: each run a task of "
        "one CPU; needs pip install 'rlplastic[ray]' and an --out every node can write). Default: local",
    )
    p.add_argument(
        "--address",
        help="the Ray cluster to join with --executor ray, e.g. ray://head:10001 or auto (default: start a local "
        "Ray instance); a host:port that accepts no connection is refused at once",
    )
    p.add_argument(
        "--device",
        default="auto",
        help="where runs compute: auto (CUDA when torch sees a GPU, else the CPU), cpu, cuda, cuda:N or mps. With "
        "auto or cuda on K GPUs, --jobs spreads runs over them round-robin. A numeric like the thread count: "
        "recorded in config.json, not part of a run's identity (default auto)",
    )
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="torch's deterministic algorithms (and CUBLAS_WORKSPACE_CONFIG=:4096:8 on CUDA): reruns on a GPU "
        "give the same numbers, at a cost in speed (README: GPUs and clusters); recorded with the numerics",
    )
    p.add_argument(
        "--allow-numerics-change",
        action="store_true",
        help="resume or reuse runs recorded under other numerics (threads, device, precision, CPU kernels, torch, "
        "determinism) instead of refusing them; a resumed run's DONE says so, the leaderboard notes the mix",
    )
    p.add_argument(
        "--cpus-per-run",
        type=float,
        default=1.0,
        help="with --executor ray: CPUs each run's task asks for (its torch threads; default 1)",
    )
    p.add_argument(
        "--gpus-per-run",
        type=float,
        default=0.0,
        help="with --executor ray: GPUs each run's task asks for; fractions (0.25) share a GPU (default 0)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the grid (runs to train, reuse, resume), its agent steps and a wall-time estimate from a few "
        "seconds of training per agent on this machine and device; writes nothing",
    )
    p.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=10.0,
        help="also checkpoint inside a phase at most every this many minutes (0: at every metrics row), so a "
        "crash loses at most that much training; a checkpoint ends every phase anyway (default 10)",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="report runs that another command is training (same --out) as busy instead of waiting for them",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, repeatable: budget.steps_per_phase=4096, agent.learning_rate=1e-4, "
        'env.repeat_action_probability=0, suite.tasks=\'["Pong","Breakout"]\', fire.iters=5',
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="train each point of a grid over agent.OPTION and METHOD.OPTION values (TOML values as with --set; "
        "repeat --sweep for the product of several keys): each point gets its own run folders, reused and resumed "
        "like any run, and all share one leaderboard. A method runs at every point of its own keys and of the "
        "agent's, so an agent sweep gives the baselines the same budget. Example: --method dash --sweep "
        "dash.lam=0.1,0.3; then python -m rlplastic.bench table --select best --tune-seeds 0-2 --eval-seeds 3-7 "
        "picks each method's point on the tuning seeds and reports it on the others",
    )
    p.add_argument("--no-baselines", action="store_true", help="run only the named methods, not none and reset")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--list", action="store_true", help="list suites (with budgets), agents and methods, then exit")
    p.add_argument(
        "--describe",
        metavar="NAME",
        help="print every option of an agent or a method with its default and meaning, then exit",
    )
    return p


def list_catalogue() -> str:
    lines = ["suites:"]
    for name in available_suites():
        suite = load_suite(name)
        lines.append(f"  {name:10s} {suite.description}")
        tuned = ", ".join(suite.agents) or suite.agent
        lines.append(f"    --agent    {tuned} tuned here (default {suite.agent}); others that fit use their defaults")
        for b, budget in suite.budgets.items():
            lines.append(
                f"    --budget {b:6s} {budget.steps_per_phase:>10,} steps x {len(suite.tasks)} tasks x "
                f"{budget.cycles} cycles: {budget.about}"
            )
        for p, preset in suite.presets.items():
            lines.append(f"    --preset {p}: {preset.about}")
    lines.append("agents (--describe NAME for their options):")
    for name, cls in agents.available().items():
        lines.append(f"  {name:10s} {_about(cls)} [actions: {', '.join(cls.ACTION_KINDS)}]")
    lines.append("methods:")
    for name, cls in interventions.available().items():
        opts = ", ".join(f"{k}={v!r}" for k, v in interventions.option_defaults(name).items())
        lines.append(f"  {name:10s} {cls.paper}" + (f"  [{opts}]" if opts else ""))
    return "\n".join(lines)


def _summary(text: str | None) -> str:
    """A docstring's summary: its first paragraph, on one line."""
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _about(cls: type) -> str:
    """An agent or a method is one module: its docstring's summary line says what it is (else the class's own)."""
    module = sys.modules.get(cls.__module__)
    return _summary(module.__doc__ if module and module.__doc__ else cls.__doc__)


def describe(name: str) -> str:
    """Every option of agent and/or method ``name``: how to set it, its default and its meaning."""
    parts = []
    if name in agents.available():
        cls = agents.available()[name]
        table = getattr(cls, "SUITE_TABLE", name)  # SB3's agents read our agents' tables
        head = f"agent {name}: {_about(cls)} (--set agent.OPTION=VALUE, or the suite's [agents.{table}] table)"
        parts.append("\n".join([head, *configs.describe(cls.Config)]))
    if name in interventions.available():
        cls = interventions.available()[name]
        head = f"method {name} ({cls.paper}): {_about(cls)} (--set {name}.OPTION=VALUE)"
        parts.append("\n".join([head, *(configs.describe(cls.Config) or ["  (no options)"])]))
    if not parts:
        valid = ", ".join([*agents.available(), *interventions.available()])
        raise UsageError(f"--describe {name}: no agent or method of that name; valid names: {valid}")
    return "\n\n".join(parts)


def _existing_part(path: Path) -> Path:
    """The longest leading part of the absolute ``path`` that exists (a name too long to look up counts as absent)."""
    found = Path(path.anchor)
    for part in path.parts[1:]:
        try:
            if not (found / part).exists():
                break
        except OSError:
            break
        found /= part
    return found


def _short(text: str, keep: int = 24) -> str:
    return text if len(text) <= keep else f"{text[: keep - 4]}..."


def check_names(path: Path, fix: str) -> None:
    """Every name in ``path`` must fit the file system's NAME_MAX, and the path with a run's longest file name
    its PATH_MAX: a run folder that cannot be made fails only when its run starts, after others trained."""
    absolute = Path(os.path.abspath(path))
    existing = _existing_part(absolute)
    name_max = os.pathconf(existing, "PC_NAME_MAX")
    for part in absolute.parts[1:]:
        size = len(os.fsencode(part))
        if size > name_max:
            raise UsageError(
                f"the folder name {_short(part)!r} in {str(path).replace(part, _short(part))} is {size} bytes, "
                f"above this file system's limit of {name_max}; {fix}"
            )
    size = len(os.fsencode(str(absolute))) + LONGEST_FILE_NAME
    path_max = os.pathconf(existing, "PC_PATH_MAX")
    if size > path_max:
        raise UsageError(
            f"{_short(str(path), 60)} is too long for this file system ({size} of {path_max} bytes with its "
            f"files); {fix}"
        )


def check_resources(args: argparse.Namespace) -> None:
    """``--cpus-per-run`` and ``--gpus-per-run``: Ray requests, finite and in range, and only with Ray."""
    for name, value, low in (("--cpus-per-run", args.cpus_per_run, 0.0), ("--gpus-per-run", args.gpus_per_run, 0.0)):
        if not (math.isfinite(value) and value >= low):
            raise UsageError(f"{name} must be a finite number >= {low:g}, not {value}")
    if args.cpus_per_run <= 0:
        raise UsageError(f"--cpus-per-run must be above 0, not {args.cpus_per_run}")
    if args.executor != "ray" and (args.cpus_per_run != 1.0 or args.gpus_per_run != 0.0):
        raise UsageError(
            "--cpus-per-run and --gpus-per-run are Ray requests; add --executor ray (locally, --jobs shares the cores "
            "and spreads runs over the GPUs)"
        )


def check_out(out: Path, probe_write: bool = True) -> None:
    """``--out`` must be a folder this process can create files in (or a path where one can be made); without
    ``probe_write`` (``--dry-run``, which writes nothing) only its names and kind are checked."""
    check_names(out, "choose a shorter --out")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; choose another --out")
    if not probe_write:
        return
    existing = next(p for p in (out, *out.resolve().parents) if p.exists())
    try:  # a real write tells, where permission bits do not (root, read-only mounts, /proc)
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write in {existing} ({err.strerror}); choose a writable folder") from err


def methods_to_run(arg: str, with_baselines: bool) -> list[str]:
    named = [m.strip() for m in arg.split(",") if m.strip()]
    if not named:
        raise UsageError(f"--method is empty; valid methods: {', '.join(interventions.available())}")
    for m in named:
        method_parts(m)
    baselines = list(interventions.BASELINES) if with_baselines else []
    return list(dict.fromkeys([*baselines, *named]))


def summary_table(results: list[RunResult]) -> str:
    width = max([16, *(len(r.config.label) for r in results)])
    lines = [f"{'method':{width}s} {'seed':>4s} {'status':8s} {'minutes':>7s} {'steps/s':>8s}  folder"]
    for r in results:
        minutes = f"{r.seconds / 60:.1f}" if r.seconds else "-"
        rate = f"{r.steps_per_s:.0f}" if r.steps_per_s else "-"
        lines.append(f"{r.config.label:{width}s} {r.config.seed:>4d} {r.status:8s} {minutes:>7s} {rate:>8s}  {r.dir}")
        if r.error:
            lines.append(f"    error: {r.error}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(build_parser().parse_args(argv))
    except (UsageError, agents.AgentError, interventions.MethodError) as err:  # a plug-in that breaks its contract
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    if args.list:
        print(list_catalogue())
        return 0
    if args.describe:
        print(describe(args.describe))
        return 0
    if not args.suite:
        raise UsageError(f"--suite is required; valid suites: {', '.join(available_suites())} (or a .toml path)")
    if args.seeds < 1 or args.jobs < 1:
        raise UsageError("--seeds and --jobs must be at least 1")
    if not (math.isfinite(args.checkpoint_minutes) and args.checkpoint_minutes >= 0):
        raise UsageError(f"--checkpoint-minutes must be a finite number >= 0, not {args.checkpoint_minutes}")
    if args.address and args.executor != "ray":
        raise UsageError("--address names a Ray cluster; add --executor ray or drop --address")
    check_resources(args)
    executor.check_address(args.address)
    check_out(args.out, probe_write=not args.dry_run)
    options = numerics.Options(args.device, args.deterministic, args.allow_numerics_change)
    device = numerics.apply(options)  # an unknown or absent device is refused here, in one line
    methods = methods_to_run(args.method, not args.no_baselines)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    overrides = parse_assignments(args.overrides)
    grid = sweep.parse_sweeps(args.sweep)
    configs = plan(args.suite, methods, seeds, args.budget, overrides, args.agent, args.preset, grid)
    for config in configs:
        check_names(args.out / config.relative_dir(), "shorten --out or the suite, budget or preset name")
    threads = executor.threads_per_run(args.executor, args.jobs, args.cpus_per_run)
    local = args.executor == "local"  # a Ray node's numerics are known on that node: its task checks them
    expected = executor.expected_numerics(configs, threads, options) if local else None
    executor.verify_all(configs, args.out, expected, args.allow_numerics_change)  # refused before anything trains
    report.check(args.out, {args.out / c.relative_dir().parent.parent for c in configs})  # so is a damaged board
    if args.dry_run:
        print(estimate.dry_run(configs, args.out, args.jobs, device, threads))
        return 0
    first = configs[0]
    print(
        f"{len(configs)} runs: suite {first.suite}, agent {first.agent}, budget {first.budget} ({first.cycles} x "
        f"{len(first.tasks)} phases of {first.steps_per_phase:,} steps), methods {', '.join(methods)}, seeds {seeds}"
        + (f", {sweep.describe(grid, {m: len(sweep.points(grid, method_parts(m))) for m in methods})}" if grid else "")
    )
    if args.budget == "smoke":
        print(SMOKE_WARNING)
    results = executor.run_all(
        configs,
        args.out,
        args.jobs,
        show_progress=not args.quiet,
        executor=args.executor,
        address=args.address,
        checkpoint_minutes=args.checkpoint_minutes,
        wait=not args.no_wait,
        options=options,
        resources=executor.RayResources(args.address, args.cpus_per_run, args.gpus_per_run),
    )
    print(summary_table(results))
    if any(r.status not in ("failed", "busy") for r in results):
        note = SMOKE_WARNING if args.budget == "smoke" else f"Latest command: {PROG} {' '.join(sys.argv[1:])}"
        groups = {r.dir.parent.parent for r in results}  # every run ever trained there, not only this command's
        for text, written in report.build(args.out, report.Options(note=note), only=groups):
            print()
            print(text)
            print("written: " + ", ".join(str(p) for p in written))
    busy = [r for r in results if r.status == "busy"]
    if busy:
        print(f"{len(busy)} run(s) are being trained by another command (--no-wait): rerun to include them.")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(
            f"{len(failed)} run(s) failed; finished runs are kept and reused on the next call.",
            file=sys.stderr,
        )
        return 1
    return 0
