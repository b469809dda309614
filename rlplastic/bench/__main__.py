"""``python -m rlplastic.bench [table|plot]``: training goes to ``rlplastic.run``; ``table`` and ``plot`` only read
results (``rlplastic.report``, no torch import)."""

import sys

REPORTS = ("table", "plot")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in REPORTS:
        from rlplastic.report import commands

        return commands.main(argv)
    from rlplastic.run import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
