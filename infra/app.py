"""CDK app: ``cdk synth -c stage=staging|production`` (see the Makefile's synth target).

The dependency layer: ``-c maxtrader:depsLayerDir=DIR`` (or ``$MAXTRADER_DEPS_LAYER_DIR``) names
a directory built by ``make layer``; without either the stack uses an empty stub and warns that
the assembly is not deployable (tests and ``make synth`` need no build, nor the network).
"""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from maxtrader.config.loader import load_config
from maxtrader_infra.layers import check_built_deps_dir
from maxtrader_infra.stack import MaxTraderStack

DEPS_LAYER_CONTEXT = "maxtrader:depsLayerDir"
DEPS_LAYER_ENV = "MAXTRADER_DEPS_LAYER_DIR"


def deps_layer_dir(app: App) -> Path | None:
    """The built dependency layer named by context or environment, None for the stub."""
    given = app.node.try_get_context(DEPS_LAYER_CONTEXT) or os.environ.get(DEPS_LAYER_ENV)
    return check_built_deps_dir(Path(str(given))) if given else None


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
        deps_layer_dir=deps_layer_dir(app),
        env=Environment(account=config.stage.aws.account, region=config.stage.aws.region),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


if __name__ == "__main__":
    build_app(outdir=os.environ.get("CDK_OUTDIR")).synth()
