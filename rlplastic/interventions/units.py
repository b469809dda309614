"""Unit-level surgery shared by ReDo and continual backprop: measure hidden units, replace some of them.

Works on any network that offers ``hidden_layers()`` (see ``rlplastic.agents.networks.HiddenLayer``).
"""

from __future__ import annotations

import torch
from torch import nn

from rlplastic.agents.networks import HiddenLayer
from rlplastic.metrics.diagnostics import activity


def unit_activity(h: HiddenLayer, act: torch.Tensor) -> torch.Tensor:
    """Mean |activation| of each unit over the batch (and positions, and CReLU's two copies)."""
    return activity(act, h.copies)


def unit_mean(h: HiddenLayer, act: torch.Tensor) -> torch.Tensor:
    """Signed mean activation of each unit's output channels, shape (copies, units) (CBP's bias correction)."""
    per_channel = act.transpose(0, 1).reshape(act.shape[1], -1).mean(1)
    return per_channel.view(h.copies, h.units)


class ActivationRecorder:
    """Keeps each hidden layer's latest activation (``latest[index]``) while started.

    ``grad_only`` skips forwards without gradients (e.g. rollouts), so after an update ``latest`` holds the
    activations of the minibatch that update was computed on.
    """

    def __init__(self, layers: list[HiddenLayer], grad_only: bool = False) -> None:
        self.layers, self.grad_only = layers, grad_only
        self.latest: dict[int, torch.Tensor] = {}
        self._handles: list = []

    def _hook(self, index: int):
        def store(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            if not self.grad_only or torch.is_grad_enabled():
                self.latest[index] = output.detach()

        return store

    def start(self) -> ActivationRecorder:
        self._handles = [h.activation.register_forward_hook(self._hook(i)) for i, h in enumerate(self.layers)]
        return self

    def stop(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> dict[int, torch.Tensor]:
        return self.start().latest

    def __exit__(self, *exc: object) -> None:
        self.stop()


def outgoing_weight_magnitude(h: HiddenLayer) -> torch.Tensor:
    """Mean |w| of the outgoing weights of each unit, over every outgoing layer and column it feeds."""
    total, count = torch.zeros(h.units, device=h.incoming.weight.device), 0
    for out in h.outgoing:
        w = out.weight.detach().abs()
        per_unit = w.reshape(w.shape[0], h.copies, h.units, -1)  # (out, copies, units, positions or taps)
        total += per_unit.sum(dim=(0, 1, 3))
        count += per_unit.shape[0] * per_unit.shape[1] * per_unit.shape[3]
    return total / count


def zero_moments(optimizer: torch.optim.Optimizer, param: nn.Parameter, index: tuple) -> None:
    """Zero Adam's first and second moments of ``param[index]``; the step count is kept (as ReDo does)."""
    state = optimizer.state.get(param, {})
    for key in ("exp_avg", "exp_avg_sq"):
        if key in state:
            state[key][index] = 0.0


@torch.no_grad()
def replace_units(
    h: HiddenLayer,
    units: torch.Tensor,
    new_incoming: torch.Tensor,
    optimizers: list[torch.optim.Optimizer],
    zero_bias_moments: bool = True,
) -> None:
    """Give ``units`` new incoming weights and a zero bias, zero their outgoing weights and the Adam moments
    of those weights (and of the bias unless ``zero_bias_moments`` is False, as in ReDo's official code)."""
    device = h.incoming.weight.device
    idx = torch.as_tensor(units, dtype=torch.long, device=device)
    h.incoming.weight[idx] = new_incoming[idx].to(h.incoming.weight.dtype)
    h.incoming.bias[idx] = 0.0
    cols = torch.as_tensor([c for u in idx.tolist() for c in h.outgoing_columns(u)], dtype=torch.long, device=device)
    for out in h.outgoing:
        out.weight[:, cols] = 0.0
    for opt in optimizers:
        zero_moments(opt, h.incoming.weight, (idx,))
        if zero_bias_moments:
            zero_moments(opt, h.incoming.bias, (idx,))
        for out in h.outgoing:
            zero_moments(opt, out.weight, (slice(None), cols))
