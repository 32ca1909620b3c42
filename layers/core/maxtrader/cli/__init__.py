"""The ``maxtrader`` command. Each subcommand lives in its own module and registers here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from maxtrader import __version__
from maxtrader.cli import (
    backtest_cmd,
    config_cmd,
    data_cmd,
    killswitch_cmd,
    relay_cmd,
    simulate_cmd,
    status_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maxtrader", description=__doc__)
    parser.add_argument("--version", action="version", version=f"maxtrader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_cmd.register(commands)
    backtest_cmd.register(commands)
    data_cmd.register(commands)
    relay_cmd.register(commands)
    killswitch_cmd.register(commands)
    status_cmd.register(commands)
    simulate_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
