"""The one error type the CLI turns into a one-line message and exit code 2."""


class UsageError(ValueError):
    """Bad input from the user: unknown names, malformed overrides or config, unusable run folders."""
