"""Runs record their numerics (threads, CPU kernels, torch, device, precision, determinism) and a resume or reuse
under others is refused in one line naming the difference, unless --allow-numerics-change (then DONE says so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_PPO

from rlplastic.errors import UsageError
from rlplastic.folders import CONFIG, DONE
from rlplastic.run import cli, numerics, runner
from rlplastic.run.plan import plan
from rlplastic.run.store import RunStore

TINY = TINY_PPO | {"budget.steps_per_phase": 128, "suite.tasks": ["Breakout", "Asterix"]}
ALLOW = numerics.Options(allow_change=True)


def tiny_config():
    (config,) = plan("minatar", ["none"], [0], "smoke", TINY)
    return config


def crash_in_second_phase(monkeypatch: pytest.MonkeyPatch):
    """Make the next run stop (as a kill would) when its second phase starts; returns the undo."""
    real_env = runner._env

    def crash(cfg, phase, stream="train"):
        if phase.index == 1:
            raise KeyboardInterrupt
        return real_env(cfg, phase, stream)

    monkeypatch.setattr(runner, "_env", crash)
    return lambda: monkeypatch.setattr(runner, "_env", real_env)


def test_measure_records_device_precision_and_determinism() -> None:
    got = numerics.measure(torch.device("cpu"), "fp32", threads=3)
    assert got == {
        "threads": 3,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "device": "cpu",
        "precision": "fp32",
        "deterministic": False,
    }
    assert numerics.measure(torch.device("cpu"), "auto")["precision"] in ("fp32", "bf16")  # resolved, never auto


def test_check_names_the_difference_in_one_line_and_ignores_keys_not_recorded() -> None:
    recorded = {"threads": 2, "device": "cpu"}
    with pytest.raises(UsageError) as err:
        numerics.check("runs/x", recorded, {"threads": 1, "device": "cpu", "precision": "fp32"}, False, "resume")
    assert "\n" not in str(err.value)
    assert "cannot resume runs/x" in str(err.value) and "threads 2 -> 1" in str(err.value)
    assert "--allow-numerics-change" in str(err.value)
    assert numerics.check("x", recorded, recorded | {"gpu": "H200"}, False, "reuse") is False  # older folder
    assert numerics.check("x", recorded, {"threads": 1, "device": "cpu"}, True, "reuse") is True


def test_a_resume_under_another_thread_count_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_threads
) -> None:
    config = tiny_config()
    folder = RunStore(tmp_path, config).dir
    torch.set_num_threads(1)
    undo = crash_in_second_phase(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        runner.run(config, tmp_path)
    undo()
    began = json.loads((folder / CONFIG).read_text())["numerics"]
    assert began["threads"] == 1 and began["device"] == "cpu" and began["precision"] == "fp32"

    torch.set_num_threads(2)
    with pytest.raises(UsageError, match=r"cannot resume .*other numerics \(threads 1 -> 2\)") as err:
        runner.run(config, tmp_path)
    assert "\n" not in str(err.value)
    assert not (folder / DONE).exists()

    assert runner.run(config, tmp_path, options=ALLOW).status == "resumed"
    done = json.loads((folder / DONE).read_text())
    assert done["numerics_change_allowed"] is True and done["numerics_at_resume"] == {"threads": 2}
    assert json.loads((folder / CONFIG).read_text())["numerics"] == began  # what the run began with


def test_a_finished_run_under_other_numerics_is_refused_before_anything_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture, keep_threads
) -> None:
    config = tiny_config()
    torch.set_num_threads(1)
    folder = runner.run(config, tmp_path).dir
    stored = json.loads((folder / CONFIG).read_text())
    stored["numerics"]["threads"] += 7
    (folder / CONFIG).write_text(json.dumps(stored))
    with pytest.raises(UsageError, match="cannot reuse"):
        runner.run(config, tmp_path)
    assert runner.run(config, tmp_path, options=ALLOW).status == "reused"

    args = ["--suite", "minatar", "--method", "none", "--no-baselines", "--out", str(tmp_path), "--quiet"]
    args += [f"--set={k}={json.dumps(v)}" for k, v in TINY.items()]
    assert cli.main(args) == 2  # the command's own check, before any run starts
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot reuse" in err and "threads 8 -> " in err


def test_an_unknown_or_absent_device_is_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    for device, message in (("tpu", "is not a device"), ("xla", "unsupported device type"), ("cuda:0", "no CUDA GPU")):
        if device.startswith("cuda") and torch.cuda.is_available():
            continue
        assert cli.main(["--suite", "minatar", "--device", device, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and message in err
