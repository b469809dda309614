"""Where a run computes: ``--device auto|cpu|cuda|cuda:N|mps``, resolved once per training process.

``auto`` is CUDA where torch sees a GPU, else the CPU. An agent is built inside ``torch.device(device)``
(``agents.make``), so its networks and buffers are born there; it keeps that device (``LearnerBase.device``)
and puts every tensor it makes later there explicitly (``device=``, or ``to_device`` for arrays from the
environments). Environments and replay buffers stay on the host: observations move per batch.
The device is a numeric of the run (``run/numerics.py``), like the thread count, not part of its identity.
"""

from __future__ import annotations

import numpy as np
import torch

DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def resolve(name: str) -> torch.device:
    """The device ``name`` means on this machine; a ``ValueError`` naming the fix where it has none."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"--device {name!r} is not a device; choose one of {', '.join(DEVICES)}") from err
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"--device {name}: torch sees no CUDA GPU on this machine; use --device cpu or auto")
        if device.index is not None and device.index >= count:
            raise ValueError(f"--device {name}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {name}: MPS is not available here; use --device cpu or auto")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {name!r}: unsupported device type; choose one of {', '.join(DEVICES)}")
    return device


def gpu_count() -> int:
    """CUDA GPUs this process sees (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def spread(name: str, index: int) -> str:
    """The device of the ``index``-th run of a local batch: ``auto``/``cuda`` on K GPUs go round-robin to
    ``cuda:index % K``; anything else (an explicit ``cuda:N``, cpu, mps, no GPU) is kept as given."""
    count = gpu_count()
    if name in ("auto", "cuda") and count > 0:
        return f"cuda:{index % count}"
    return name


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """An environment's array as a tensor on ``device`` (no copy on the CPU: the very memory numpy holds)."""
    return torch.from_numpy(array).to(device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as a numpy array for the environments (a copy only off the CPU)."""
    return tensor.cpu().numpy()
