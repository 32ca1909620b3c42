"""A production stage filled in by an operator (real-looking contacts and account, webhooks):
the synth has no placeholder warnings, subscribes the webhooks and stays nag- and lint-clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from maxtrader_infra.nag_acknowledgements import CFN_LINT_IGNORED
from tests.infra.stage_files import FILLED_PRODUCTION, edited_configs

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("cdk")
FILLED = FILLED_PRODUCTION | {"webhooks: []": 'webhooks: ["https://alerts.maxtrader-ops.net/sns"]'}


def test_a_filled_production_stage_synthesizes_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = edited_configs(tmp_path, "production", FILLED)
    monkeypatch.setenv("MAXTRADER_CONFIG_DIR", str(configs))
    from app import build_app

    out = tmp_path / "out"
    build_app("production", outdir=str(out)).synth()

    metadata = json.loads((out / "MaxTrader-production.metadata.json").read_text())
    warnings = [e["data"] for es in metadata.values() for e in es if e["type"] == "aws:cdk:warning"]
    assert not [w for w in warnings if "placeholder" in w]
    assert [w for w in warnings if "empty stub" in w]  # still no built layer given

    resources = json.loads((out / "MaxTrader-production.template.json").read_text())["Resources"]
    subscriptions = sorted(
        (r["Properties"]["Protocol"], r["Properties"]["Endpoint"])
        for r in resources.values()
        if r["Type"] == "AWS::SNS::Subscription"
    )
    assert subscriptions == [
        ("email", "oncall@maxtrader-ops.net"),
        ("https", "https://alerts.maxtrader-ops.net/sns"),
        ("sms", "+14155550199"),
    ]
    report = json.loads((out / "validation-report.json").read_text())
    assert all(r["violations"] == [] for r in report["pluginReports"])
    lint = ManualArgs(ignore_checks=list(CFN_LINT_IGNORED))
    assert [str(m) for m in lint_file(out / "MaxTrader-production.template.json", lint)] == []
