"""Choosing each method's configuration on tuning seeds and reporting it on other seeds only.

A leaderboard of tuned methods is honest only if the seeds that chose a configuration do not also report it:
the best of several noisy scores is biased upward, by more the more configurations were tried. Patterson et al.
("Empirical Design in Reinforcement Learning", JMLR 2024) ask for every method tuned with the same number of
configurations and results on seeds held out from tuning; this module implements that protocol for one
experiment folder (``table --select best --tune-seeds 0-2 --eval-seeds 3-7``).

The tuning score of a run is its mean end-of-phase score over the phases after the first (all phases when there
is only one), each task's scores divided by the mean absolute end score of every tuning run of the folder on that
task. The divisor is pooled over methods and configurations, so no configuration's choice moves the yardstick,
and tasks weigh alike. The first phase is left out because every method that acts at task switches has done
nothing yet there. A configuration's score is the mean over the tuning seeds; the highest wins (ties: the first
label in sorted order).

Refused, each in one line: tuning and evaluation seeds that overlap; fewer than two tuning seeds (unless
``--allow-one-tuning-seed``: one seed cannot tell a configuration from its noise); methods tuned with unequal
numbers of configurations (unless ``--allow-unequal-tuning``; the table always shows the counts); a
configuration missing a tuning seed; a chosen configuration with no evaluation seed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlplastic.errors import UsageError
from rlplastic.metrics.aggregate import Interval, mean_interval
from rlplastic.metrics.visits import visit_scores
from rlplastic.report.leaderboard import BASELINES, method_order
from rlplastic.report.results import Run, settings_text

SCORE = (
    "mean end-of-phase score over the phases after the first, each task divided by the mean |end score| of all "
    "tuning runs on it"
)


@dataclass(frozen=True)
class Protocol:
    """Which seeds tune and which report, and the two refusals a user may lift knowingly."""

    tune: tuple[int, ...]
    evaluate: tuple[int, ...]
    unequal: bool = False
    one_seed: bool = False

    def check(self) -> None:
        both = sorted(set(self.tune) & set(self.evaluate))
        if both:
            raise UsageError(
                f"seed(s) {format_seeds(both)} are in both --tune-seeds and --eval-seeds; a seed that chose a "
                "configuration cannot also report it: make the two sets disjoint"
            )
        if len(self.tune) < 2 and not self.one_seed:
            raise UsageError(
                f"--tune-seeds {format_seeds(self.tune)} is one seed: one run cannot tell a configuration from its "
                "noise; tune on 2 or more seeds, or add --allow-one-tuning-seed"
            )


@dataclass(frozen=True)
class Choice:
    """One method's selection: the configuration chosen, among how many, with what tuning score."""

    method: str
    label: str
    settings: tuple[tuple[str, Any], ...]
    tried: int
    score: Interval
    tied: tuple[str, ...] = ()
    """Every configuration with the best score (ties are kept apart in the table, not hidden)."""


def parse_seeds(text: str, flag: str) -> tuple[int, ...]:
    """``0-2,5`` -> (0, 1, 2, 5); anything else is a one-line error naming ``flag``."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        found = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not found or (found[2] is not None and int(found[2]) < int(found[1])):
            raise UsageError(f"{flag} {text!r}: write seeds as 0-2,5 (whole numbers, ranges low-high, commas)")
        seeds += range(int(found[1]), int(found[2] or found[1]) + 1)
    return tuple(dict.fromkeys(seeds))


def format_seeds(seeds: tuple[int, ...] | list[int] | set[int]) -> str:
    """(0, 1, 2, 5) -> ``0-2,5``: the form ``parse_seeds`` reads."""
    ordered, parts = sorted(seeds), []
    for s in ordered:
        if parts and s == parts[-1][1] + 1:
            parts[-1][1] = s
        else:
            parts.append([s, s])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)


def _end_scores(runs: list[Run], window: float) -> pd.DataFrame:
    """Raw end-of-phase score of every run and phase: columns label, method, seed, phase, task, end."""
    rows = []
    for run in runs:
        for v in visit_scores(run.episodes(), run.phases, window):
            rows.append(
                {"label": run.label, "method": run.method, "seed": run.seed, "phase": v.phase}
                | {"task": run.base_task(v.task), "end": v.end}
            )
    return pd.DataFrame(rows)


def tuning_scores(runs: list[Run], window: float) -> pd.DataFrame:
    """The tuning score of every run (``SCORE``): columns label, method, seed, score."""
    ends = _end_scores(runs, window)
    later = ends[ends["phase"] > 0] if ends["phase"].max() > 0 else ends
    divisor = later.groupby("task")["end"].apply(lambda e: float(np.nanmean(np.abs(e))) if e.notna().any() else 1.0)
    scaled = later.assign(score=later["end"] / later["task"].map(divisor.replace(0.0, 1.0)))
    grouped = scaled.groupby(["label", "method", "seed"])["score"]
    return grouped.agg(lambda x: float(x.to_numpy().mean())).reset_index()  # a phase without a score: NaN


def _check_budgets(tried: dict[str, int], protocol: Protocol) -> None:
    tuned = {m: n for m, n in tried.items() if m not in BASELINES or n > 1}
    if len(set(tuned.values())) > 1 and not protocol.unequal:
        counts = ", ".join(f"{m} {n}" for m, n in tuned.items())
        raise UsageError(
            f"methods were tuned with unequal numbers of configurations ({counts}): the one with more tries gains "
            "from chance alone; sweep each over as many values, or add --allow-unequal-tuning (the table shows the "
            "counts)"
        )


def choose(runs: list[Run], protocol: Protocol, window: float) -> tuple[list[Choice], pd.DataFrame]:
    """Each method's best configuration on the tuning seeds, and every configuration's tuning score (columns
    method, label, settings, n, mean, low, high, chosen) for the table and the sensitivity plot."""
    protocol.check()
    tuning = [r for r in runs if r.seed in protocol.tune]
    by_label = {r.label: r for r in runs}
    for label in sorted(by_label):
        missing = sorted(set(protocol.tune) - {r.seed for r in tuning if r.label == label})
        if missing:
            raise UsageError(
                f"{label} has no finished run of tuning seed(s) {format_seeds(missing)}; every configuration needs "
                "every tuning seed: train them (--seeds/--first-seed) or drop them from --tune-seeds"
            )
    scores = tuning_scores(tuning, window)
    blank = scores[~np.isfinite(scores["score"])]
    if len(blank):
        row = blank.iloc[0]
        raise UsageError(
            f"{row['label']} seed {row['seed']} has no tuning score (a phase after the first where no episode ended): "
            "its configuration would be judged on fewer seeds; rerun it longer, or drop the seed from --tune-seeds"
        )
    rows, choices = [], []
    methods = method_order([r.method for r in sorted(runs, key=lambda r: r.label)])
    tried = {m: len({r.label for r in runs if r.method == m}) for m in methods}
    _check_budgets(tried, protocol)
    for method in methods:
        mine = []
        for label in sorted({r.label for r in runs if r.method == method}):
            iv = mean_interval(scores.loc[scores["label"] == label, "score"].to_numpy())
            mine.append((label, iv))
        finite = [(label, iv) for label, iv in mine if np.isfinite(iv.value)]
        if not finite:
            raise UsageError(
                f"no configuration of {method} has a tuning score (no episode ended after phase 1); train a longer "
                "budget"
            )
        top = max(iv.value for _, iv in finite)
        tied = tuple(label for label, iv in finite if iv.value == top)
        best = tied[0]  # equal scores: the first label in sorted order (the plain one, where it ties)
        choices.append(Choice(method, best, by_label[best].row_settings, tried[method], dict(mine)[best], tied))
        for label, iv in mine:
            settings = json.dumps(dict(by_label[label].row_settings), sort_keys=True)
            rows.append(
                {"method": method, "label": label, "settings": settings, "n": iv.n, "mean": iv.value}
                | {"low": iv.low, "high": iv.high, "chosen": label == best}
            )
    return choices, pd.DataFrame(rows)


def evaluation_runs(runs: list[Run], choices: list[Choice], protocol: Protocol) -> list[Run]:
    """The chosen configurations' runs of the evaluation seeds, labelled by their method's name alone."""
    out = []
    for choice in choices:
        mine = [r for r in runs if r.label == choice.label and r.seed in protocol.evaluate]
        missing = sorted(set(protocol.evaluate) - {r.seed for r in mine})
        if missing:
            who = choice.label if choice.label == choice.method else f"{choice.label} (chosen for {choice.method})"
            raise UsageError(
                f"{who} has no finished run of evaluation seed(s) {format_seeds(missing)}; every number must rest on "
                "every evaluation seed: train them with --first-seed/--seeds (and the same --sweep), or drop them "
                "from --eval-seeds"
            )
        out += [dataclasses.replace(r, row_label=choice.method) for r in mine]
    return out


def markdown(choices: list[Choice], protocol: Protocol, left_out: set[int]) -> list[str]:
    """The protocol in one sentence and the selection table, for the top of the selected leaderboard."""
    lines = [
        f"**Selected on tuning seeds {format_seeds(protocol.tune)}, reported on evaluation seeds "
        f"{format_seeds(protocol.evaluate)} only.** Each method's configuration is the one with the best tuning "
        f"score ({SCORE}), mean over the tuning seeds; every number below uses the evaluation seeds alone."
        + (f" Seeds {format_seeds(left_out)} are in neither set and were left out." if left_out else ""),
        "",
        "| method | configurations tried | chosen | tuning score [95 % CI] (n) |",
        "|---|---|---|---|",
    ]
    for c in choices:
        iv = c.score
        ci = f"[{iv.low:.3f}, {iv.high:.3f}]" if np.isfinite(iv.low) else "[no interval: n=1]"
        chosen = settings_text(c.settings) or "(one configuration)"
        lines.append(f"| {c.method} | {c.tried} | {chosen} | {iv.value:.3f} {ci} (n={iv.n}) |")
    ties = [c for c in choices if len(c.tied) > 1]
    if ties:
        lines += [
            "",
            "**Tied tuning scores** (the first label in sorted order is kept): "
            + "; ".join(f"{c.method}: {', '.join(c.tied)}" for c in ties)
            + ". Equal scores usually mean runs that behaved alike (e.g. a policy that has not left uniform).",
        ]
    if len({c.tried for c in choices if c.method not in BASELINES or c.tried > 1}) > 1:
        lines += ["", "**Unequal tuning budgets** (--allow-unequal-tuning): compare methods with care."]
    if protocol.one_seed:
        lines += ["", "**Tuned on one seed** (--allow-one-tuning-seed): the choice may follow noise."]
    return lines
