"""Suites as data: TOML files naming tasks, budgets, environment options and agent hyper-parameters
(``loader.py`` reads and checks them)."""

from rlplastic.suites.loader import (
    BUDGET_KEYS,
    SCORES,
    SUITE_DIR,
    Budget,
    Preset,
    Suite,
    SuiteError,
    available_suites,
    load_suite,
    parse_suite,
)

__all__ = [
    "BUDGET_KEYS",
    "SCORES",
    "SUITE_DIR",
    "Budget",
    "Preset",
    "Suite",
    "SuiteError",
    "available_suites",
    "load_suite",
    "parse_suite",
]
