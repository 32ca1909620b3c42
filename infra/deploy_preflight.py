"""Checks ``make deploy`` runs before ``cdk deploy``: ``python infra/deploy_preflight.py STAGE``.

The stage config must load (the same errors ``maxtrader config validate`` prints). A production
stage whose alert contacts or AWS account are placeholders is refused: a live system whose
alarms reach nobody, or a deploy aimed at a documentation account, must not start. Other stages
only warn (staging synthesizes and deploys as shipped). Every stage is refused while a function
of ``maxtrader_infra.function_specs`` has no handler in the checkout. Exit 0 to go on, 1 to stop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maxtrader.config.loader import load_config
from maxtrader.domain.errors import ConfigError
from maxtrader_infra.function_specs import FUNCTIONS_DIR, missing_handlers

REFUSED_STAGES = frozenset({"production"})


def problems(stage_name: str) -> list[str]:
    """What is a placeholder in the stage's config (empty: ready to deploy)."""
    stage = load_config(stage=stage_name).stage
    if stage is None:  # pragma: no cover - load_config returns a stage when asked for one
        return [f"stage {stage_name!r} did not load"]
    found = [f"placeholder alert contact: {contact}" for contact in stage.placeholder_contacts()]
    account = stage.placeholder_account()
    if account:
        found.append(f"placeholder AWS account: {account}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage")
    parser.add_argument(
        "--functions-dir",
        type=Path,
        default=FUNCTIONS_DIR,
        help="where the handlers are (tests point it at a copy; default: the checkout's)",
    )
    args = parser.parse_args(argv)
    try:
        found = problems(args.stage)
    except ConfigError as exc:
        print(f"deploy {args.stage}: the stage config does not load:\n{exc}", file=sys.stderr)
        return 1
    stage_file = f"configs/stages/{args.stage}.yaml"
    refused = False
    if found and args.stage in REFUSED_STAGES:
        print(
            f"deploy {args.stage}: refused, {stage_file} still holds placeholders:\n  "
            + "\n  ".join(found)
            + f"\nedit {stage_file} (docs/deploy.md), then run `make deploy STAGE={args.stage}`",
            file=sys.stderr,
        )
        refused = True
    missing = missing_handlers(args.functions_dir)
    if missing:
        # Any stage: the stub of a missing handler fails every call it gets.
        print(
            f"deploy {args.stage}: refused, no handler (defining lambda_handler) for: "
            + ", ".join(f"functions/{name}/handler.py" for name in missing),
            file=sys.stderr,
        )
        refused = True
    if refused:
        return 1
    for problem in found:
        print(f"deploy {args.stage}: warning: {problem} ({stage_file})", file=sys.stderr)
    print(f"deploy {args.stage}: preflight passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
