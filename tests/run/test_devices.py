"""--device resolves in one line or refuses; local runs spread over the GPUs; Ray tasks ask for CPUs and GPUs."""

from __future__ import annotations

import pytest
import torch

from rlplastic.agents import device as devices
from rlplastic.run import executor, numerics


def test_auto_is_cuda_only_where_torch_sees_a_gpu() -> None:
    assert devices.resolve("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert devices.resolve("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name,message", [("gpu", "is not a device"), ("xla", "unsupported device type")])
def test_a_device_that_is_not_one_is_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        devices.resolve(name)


def test_cuda_without_a_gpu_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"no CUDA GPU on this machine; use --device cpu or auto"):
        devices.resolve("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"2 CUDA GPU\(s\), cuda:0 to cuda:1"):
        devices.resolve("cuda:2")


def test_local_runs_go_round_robin_over_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "gpu_count", lambda: 3)
    options = numerics.Options(device="auto")
    assert [executor.run_options(options, i).device for i in range(5)] == [f"cuda:{i % 3}" for i in range(5)]
    assert executor.run_options(numerics.Options(device="cuda:1"), 4).device == "cuda:1"  # explicit: kept
    assert executor.run_options(numerics.Options(device="cpu"), 4).device == "cpu"
    monkeypatch.setattr(devices, "gpu_count", lambda: 0)
    assert executor.run_options(options, 4).device == "auto"  # no GPU: the CPU, resolved in the run


def test_threads_per_run_share_the_cores_or_follow_the_ray_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor.os, "cpu_count", lambda: 16)
    assert [executor.threads_per_run("local", j) for j in (1, 2, 3, 32)] == [16, 8, 5, 1]
    assert executor.threads_per_run("ray", 1, 4.0) == 4 and executor.threads_per_run("ray", 1, 0.5) == 1


def test_ray_tasks_ask_for_the_cpus_and_gpus_per_run(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The request reaches ``ray.remote`` (a stand-in module: no cluster needed)."""
    import sys
    import types

    asked = {}

    def remote(**request):
        asked.update(request)
        return lambda fn: types.SimpleNamespace(remote=lambda *args: (fn.__name__, args))

    fake = types.SimpleNamespace(is_initialized=lambda: True, remote=remote, get=lambda calls: calls)
    monkeypatch.setitem(sys.modules, "ray", fake)
    resources = executor.RayResources(None, cpus_per_run=2.0, gpus_per_run=0.25)
    options = numerics.Options(device="auto")
    (call,) = executor._ray(["config"], tmp_path, resources, 10.0, False, options)
    assert asked == {"num_cpus": 2.0, "num_gpus": 0.25, "max_retries": 3}
    assert call[1][2] == 2 and call[1][5] == options  # 2 torch threads; the device resolved on the node
