"""Range checks for configuration values, shared by agent, method and environment options.

Each raises ``ValueError`` naming the setting as the user writes it (``agent.gamma``, ``fire.iters``) with the
valid range, so every bad value fails before a run starts, in one line.
"""

from __future__ import annotations

import math
from typing import Any


def _label(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def counts(where: str, values: dict[str, Any], minimum: int = 1) -> None:
    """Whole numbers of at least ``minimum``."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{_label(where, name)} must be a whole number >= {minimum}, not {value!r}")


def positive(where: str, values: dict[str, Any]) -> None:
    """Finite numbers above 0 (learning rates, epsilons, scales)."""
    for name, value in values.items():
        if not _number(value) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{_label(where, name)} must be a finite number > 0, not {value!r}")


def non_negative(where: str, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if not _number(value) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{_label(where, name)} must be a finite number >= 0, not {value!r}")


def probabilities(where: str, values: dict[str, Any], low_open: bool = False) -> None:
    """Numbers in [0, 1] (or (0, 1] with ``low_open``)."""
    for name, value in values.items():
        if not _number(value) or not (0 < value <= 1 if low_open else 0 <= value <= 1):
            interval = "(0, 1]" if low_open else "[0, 1]"
            raise ValueError(f"{_label(where, name)} must be in {interval}, not {value!r}")


def one_of(where: str, name: str, value: Any, valid: tuple[str, ...] | list[str]) -> None:
    if value not in valid:
        raise ValueError(f"{_label(where, name)} must be one of {', '.join(map(str, valid))}, not {value!r}")


def fields(obj: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def steps(where: str, name: str, value: Any) -> None:
    """A list of agent steps: whole numbers >= 0."""
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ValueError(f"{_label(where, name)} must be a list of whole numbers >= 0 (agent steps), not {value!r}")
