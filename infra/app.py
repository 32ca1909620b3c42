"""CDK app: ``cdk synth -c stage=staging|production`` (see the Makefile's synth target)."""

from __future__ import annotations

import os

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from maxtrader.config.loader import load_config
from maxtrader_infra.stack import MaxTraderStack


def build_app(stage: str | None = None, outdir: str | None = None) -> App:
    app = App(outdir=outdir) if outdir else App()
    stage_name = stage or app.node.try_get_context("stage")
    if not stage_name:
        raise SystemExit("no stage given: run `cdk synth -c stage=staging` (or production)")
    # Loads and validates every config file: a typo in a risk limit fails synth here.
    config = load_config(stage=str(stage_name))
    if config.stage is None:  # pragma: no cover - load_config returns a stage when asked for one
        raise SystemExit(f"stage {stage_name!r} did not load")
    MaxTraderStack(
        app,
        f"MaxTrader-{config.stage.name}",
        config=config,
        env=Environment(account=config.stage.aws.account, region=config.stage.aws.region),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app(outdir=os.environ.get("CDK_OUTDIR")).synth()
