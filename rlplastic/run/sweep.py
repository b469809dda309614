"""``--sweep KEY=V1,V2,...``: a grid over agent and method options, each point planned as its own runs.

Published comparisons tune every method with the same budget; a sweep makes that one command. A method-option
point is exactly a ``--set`` of that value (same configuration, same folder); an agent-option point is kept out
of the experiment folder's tag so every point of every method lands on one leaderboard, and goes into the
method folder's tag instead (``plan.resolve``). Suite, budget, env and diagnostics options are not sweepable: the
board compares methods within one schedule and environment.
"""

from __future__ import annotations

import itertools
from typing import Any

from rlplastic.errors import UsageError
from rlplastic.report.results import value_text
from rlplastic.run.overrides import check_section, parse_value

AGENT = "agent"
FIXED_SECTIONS = ("suite", "budget", "env", "diagnostics")  # one schedule and environment per board
Sweep = dict[str, list[Any]]


def split_values(raw: str) -> list[str]:
    """``'0.1,[1,2],"a,b"'`` -> ``['0.1', '[1,2]', '"a,b"']``: commas inside brackets or quotes are values'."""
    items, depth, quote, current = [], 0, "", ""
    for char in raw:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        current += char
    return [*items, current.strip()]


def _same(a: Any, b: Any) -> bool:
    """Equal values (``1e-3`` and ``0.001``, ``1`` and ``1.0``): one configuration twice. ``true`` is not ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def parse_sweeps(items: list[str]) -> Sweep:
    """``["dash.lam=0.1,0.3"]`` -> ``{"dash.lam": [0.1, 0.3]}``; a repeated key or value, or none, is refused."""
    sweep: Sweep = {}
    for item in items:
        key, sep, raw = (s.strip() for s in item.partition("="))
        if not sep or "." not in key or not key.partition(".")[2]:
            raise UsageError(f"--sweep {item!r} is malformed; write --sweep section.key=V1,V2 (e.g. dash.lam=0.1,0.3)")
        if key in sweep:
            raise UsageError(f"--sweep {key} is given twice; give all its values in one --sweep {key}=V1,V2,...")
        raws = split_values(raw)
        if not raw or "" in raws:
            raise UsageError(f"--sweep {item!r} has an empty value; write --sweep {key}=V1,V2 with at least one value")
        values = [parse_value(r) for r in raws]
        for i, value in enumerate(values):
            if any(_same(value, earlier) for earlier in values[:i]):
                raise UsageError(f"--sweep {key} repeats the value {raws[i]}; give each value once")
        sweep[key] = values
    return sweep


def _as_sweep(err: UsageError) -> UsageError:
    """``check_section``'s messages name ``--set``; the user typed ``--sweep``."""
    return UsageError(str(err).replace("--set ", "--sweep ", 1))


def check(sweep: Sweep, overrides: dict[str, Any], defaults: dict[str, dict[str, Any]]) -> None:
    """Every key names an option of the agent or of a method part being run (``defaults``: section -> option
    defaults), is not also ``--set``, and every value has that option's type; ranges are ``resolve``'s."""
    for key, values in sweep.items():
        section, _, name = key.partition(".")
        if section in FIXED_SECTIONS:
            raise UsageError(
                f"--sweep {key}: {section} options cannot be swept (the board compares methods within one schedule "
                f"and environment); run one command per value with --set {key}=V and its own --out"
            )
        if section not in defaults:
            valid = ", ".join(defaults)
            raise UsageError(
                f"--sweep {key}: {section!r} is not the agent or a method of this run; valid sections: {valid}"
            )
        if key in overrides:
            raise UsageError(f"--sweep {key} is also given with --set; drop it from one of them")
        try:
            for value in values:
                check_section(section, {name: value}, defaults[section])
        except UsageError as err:
            raise _as_sweep(err) from err


def relevant(sweep: Sweep, parts: list[str]) -> Sweep:
    """The keys that change a run of a method with ``parts``: all agent keys and its parts' own."""
    return {k: v for k, v in sweep.items() if k.partition(".")[0] in (AGENT, *parts)}


def points(sweep: Sweep, parts: list[str]) -> list[dict[str, Any]]:
    """The grid of a method's relevant keys, one ``{key: value}`` per point; ``[{}]`` (one plain run) if none."""
    keys = relevant(sweep, parts)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*keys.values())]


def swept_agent(point: dict[str, Any]) -> tuple[str, ...]:
    """The agent options a point sets (no ``agent.`` prefix, sorted), recorded in ``RunConfig.swept_agent``."""
    return tuple(sorted(k.partition(".")[2] for k in point if k.partition(".")[0] == AGENT))


def describe(sweep: Sweep, counts: dict[str, int]) -> str:
    """``sweep: dash lam=0.1,0.3 (2 points)`` for the "N runs" line, one entry per method with points, so method
    keys never read as a grid with each other; ``counts``: points per method."""
    swept = {m: n for m, n in counts.items() if n > 1}
    parts = []
    for method, n in swept.items():
        keys = relevant(sweep, method.split("+"))
        values = ", ".join(f"{k}={','.join(value_text(v) for v in vs)}" for k, vs in keys.items())
        parts.append(f"{method} {values} ({n} points)")
    return "sweep: " + "; ".join(parts) if parts else "sweep: no method has more than one point"
