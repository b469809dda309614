"""The one error type the CLI turns into a one-line message and exit code 2, and a parser that raises it."""

import argparse


class UsageError(ValueError):
    """Bad input from the user: unknown names, malformed overrides or config, unusable run folders."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2 (a ``UsageError``)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")
