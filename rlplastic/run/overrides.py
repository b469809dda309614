"""``--set key=value`` overrides: parsed as TOML values, checked against the known options and their types.

Sections: ``suite.tasks``, ``budget.steps_per_phase``, ``budget.cycles``, ``env.<option>``,
``agent.<option>`` and ``<method>.<option>`` for each method named in ``--method``.
"""

from __future__ import annotations

import inspect
from typing import Any

import tomllib

from rlplastic.errors import UsageError


def parse_value(raw: str) -> Any:
    """A TOML literal (``3``, ``1e-4``, ``true``, ``["A", "B"]``) or, failing that, the raw string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """``["agent.learning_rate=1e-3"]`` -> ``{"agent.learning_rate": 0.001}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key or not raw:
            raise UsageError(
                f"--set {item!r} is malformed; write --set section.key=value (e.g. agent.learning_rate=1e-4)"
            )
        out[key.strip()] = parse_value(raw.strip())
    return out


def coerce(key: str, value: Any, default: Any) -> Any:
    """``value`` checked against the type of ``default`` (an int is accepted where a float is expected)."""
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
        value = float(value) if ok else value
    else:
        ok = default is None or isinstance(value, type(default))
    if not ok:
        raise UsageError(f"--set {key}={value!r}: expected a {type(default).__name__} like {default!r}")
    return value


def check_section(section: str, given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Validate the ``section.*`` overrides against the option names and default values of that section."""
    checked = {}
    for key, value in given.items():
        if key not in defaults:
            raise UsageError(
                f"--set {section}.{key}: unknown option; valid {section} options: {', '.join(defaults) or 'none'}"
            )
        checked[key] = coerce(f"{section}.{key}", value, defaults[key])
    return checked


def keyword_defaults(cls: type, skip: tuple[str, ...]) -> dict[str, Any]:
    """The keyword parameters of ``cls.__init__`` with their defaults (for adapter options)."""
    params = inspect.signature(cls.__init__).parameters
    return {
        n: p.default for n, p in params.items() if n not in ("self", *skip) and p.default is not inspect.Parameter.empty
    }


def by_section(overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"agent.lr": 1}`` -> ``{"agent": {"lr": 1}}``."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        out.setdefault(section, {})[name] = value
    return out
