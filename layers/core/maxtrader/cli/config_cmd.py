"""``maxtrader config validate``: load every config file and report each problem on one line.

Warnings (valid, but worth a second look: a regime the specification closes, opened; a check it
turns on, switched off) go to stderr too and do not change the exit status.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from maxtrader.config.loader import default_config_dir, load_config
from maxtrader.domain.errors import ConfigError

EXIT_INVALID = 2


def register(commands: Any) -> None:
    config = commands.add_parser("config", help="configuration tools")
    sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    validate = sub.add_parser("validate", help="validate configs/*.yaml and the stage files")
    validate.add_argument("--config-dir", type=Path, default=None, help="default: configs/")
    validate.add_argument(
        "--stage", default=None, help="validate only this stage (default: every stage file)"
    )
    validate.set_defaults(handler=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    config_dir: Path = args.config_dir or default_config_dir()
    if not config_dir.is_dir():
        print(f"{config_dir}: not a directory", file=sys.stderr)
        return EXIT_INVALID
    if args.stage:
        stages: list[str | None] = [args.stage]
    else:
        found = sorted(p.stem for p in (config_dir / "stages").glob("*.yaml"))
        stages = list(found) if found else [None]

    problems: list[str] = []
    summaries: list[str] = []
    warnings: list[str] = []
    for stage in stages:
        try:
            app = load_config(config_dir, stage)
        except ConfigError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
            continue
        for warning in app.safety.warnings():
            line = f"warning: {config_dir / 'safety.yaml'}: {warning}"
            if line not in warnings:
                warnings.append(line)
        if app.stage is not None:
            placeholders = app.stage.placeholder_contacts()
            warn = f", placeholder contacts: {', '.join(placeholders)}" if placeholders else ""
            summaries.append(
                f"stage {app.stage.name}: {app.stage.trading_mode} trading, "
                f"symbols {','.join(app.stage.symbols)}, region {app.stage.aws.region}{warn}"
            )
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        print(f"{len(problems)} problem(s) in {config_dir}", file=sys.stderr)
        return EXIT_INVALID
    for line in warnings:  # valid, but looser than the specification
        print(line, file=sys.stderr)
    print(f"config OK: {config_dir}")
    noted = f" ({len(warnings)} warning(s))" if warnings else ""
    print(f"  safety.yaml, strategies.yaml: valid{noted}")
    for line in summaries:
        print(f"  {line}")
    return 0
