"""The device path, proven without a GPU: every agent x a few methods trains a whole (tiny) run where any tensor
off the run's device fails loudly.

Two traps, together what a GPU would catch:
- torch's default device is ``meta`` while the run's device is the CPU, so a tensor made without ``device=``
  (``torch.zeros(n)``, ``torch.as_tensor(array)``) is a meta tensor, and the first op that meets it with the
  run's tensors (or reads its value) fails;
- ``OffDevice``, a ``TorchFunctionMode``, marks every tensor made from a numpy array (``torch.from_numpy``),
  brought back with ``.cpu()`` or computed from host tensors alone as host memory, and fails any op that mixes
  such a host tensor with the run's tensors, or calls ``.numpy()`` on a run tensor: on a GPU, the forgotten
  ``.to(device)`` and ``.cpu()``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from rlplastic.run import runner
from rlplastic.run.plan import plan

pytestmark = pytest.mark.slow

# The five, plus the methods that build tensors of their own (snapshots, churn references, tuner state,
# initial norms). kron is left out: its preconditioner is the kron-torch package's code, seconds per SAC update.
METHODS = ("fire", "dash", "redo", "cbp", "injection", "cchain", "trac", "wclip", "parseval", "nap", "dff")
SUITES = {"ppo": ("minatar", ["Breakout", "Asterix"]), "dqn": ("minatar", ["Breakout", "Asterix"])}
SUITES["sac"] = ("walker", ["walker-stand", "walker-walk"])


class OffDevice(TorchFunctionMode):
    """Fails an op that mixes host tensors (from numpy, or ``.cpu()``) with the run's, as a GPU would."""

    def __init__(self) -> None:
        super().__init__()
        self.host: dict[int, weakref.ref] = {}  # by id (a tensor's == is elementwise), alive while its tensor is

    def _is_host(self, t: torch.Tensor) -> bool:
        ref = self.host.get(id(t))
        return ref is not None and ref() is t

    def mark(self, t: torch.Tensor) -> torch.Tensor:
        self.host[id(t)] = weakref.ref(t)
        return t

    @staticmethod
    def _moves(func: object, args: tuple, kwargs: dict) -> bool:
        """A ``.to(device)``/``.to(other)``/``.cuda()``: the result is on the run's device."""
        if func is torch.Tensor.cuda:
            return True
        if func is not torch.Tensor.to:
            return False
        return kwargs.get("device") is not None or any(
            isinstance(a, (torch.device, str, torch.Tensor)) for a in args[1:]
        )

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        if func is torch.Tensor.numpy and not self._is_host(args[0]):
            raise AssertionError("Tensor.numpy() on a tensor of the run's device: .cpu() first (to_numpy)")
        host = [t for t in tensors if self._is_host(t) and t.dim() > 0]
        if host and len(host) < len(tensors) and not self._moves(func, args, kwargs):
            raise AssertionError(
                f"{func.__name__} mixes host tensors {[tuple(t.shape) for t in host]} with the "
                "run's device: a forgotten .to(device)"
            )
        out = func(*args, **kwargs)
        if self._moves(func, args, kwargs):
            return out.clone() if out is args[0] else out  # on the CPU .to returns the host tensor itself
        if func is torch.Tensor.cpu:
            out = out.clone() if out is args[0] else out
            self.mark(out)
        elif tensors and len(host) == len(tensors) and host:
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self.mark(t)
        return out


@pytest.fixture
def off_device(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The two traps around a test; the default device is restored after it. ``torch.from_numpy`` is a C
    function no mode sees, so it is wrapped to mark what it returns."""
    mode = OffDevice()
    from_numpy = torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda array: mode.mark(from_numpy(array)))
    torch.set_default_device("meta")
    try:
        with mode:
            yield
    finally:
        torch.set_default_device(None)


def tiny_run(agent: str, method: str) -> list:
    suite, tasks = SUITES[agent]
    options = {f"agent.{k}": v for k, v in TINY[agent].items()}
    steps = 128 if agent == "ppo" else 96
    overrides = options | {"budget.steps_per_phase": steps, "suite.tasks": tasks, "diagnostics.every": 64}
    if agent != "ppo":
        overrides |= {"agent.learning_starts": 24, "agent.batch_size": 8}
    if method == "redo":
        overrides["redo.period"] = 1  # act within a tiny run (ReDo's own cadence is in updates)
    return plan(suite, [method], [0], "smoke", overrides, agent)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("agent", ["ppo", "dqn", "sac"])
def test_every_tensor_stays_on_the_run_device(agent: str, method: str, tmp_path: Path, off_device: None) -> None:
    (config,) = tiny_run(agent, method)
    result = runner.run(config, tmp_path, options=runner.numerics.Options(device="cpu"))
    assert result.status == "ran", result.error
    assert (result.dir / "DONE").exists()


def test_the_traps_catch_a_forgotten_device(off_device: None) -> None:
    """Both traps fire on the bugs they stand for (the deliberate-bug check of the test above)."""
    weights = torch.ones(3, device="cpu")
    with pytest.raises((RuntimeError, NotImplementedError)):
        float((weights + torch.zeros(3)).sum())  # made without device=: meta
    with pytest.raises(AssertionError, match=r"forgotten \.to"):
        weights + torch.from_numpy(np.ones(3, dtype=np.float32))
    with pytest.raises(AssertionError, match="cpu"):
        (weights * 2).numpy()
    assert float((weights + torch.from_numpy(np.ones(3, dtype=np.float32)).to("cpu")).sum()) == 6.0
