"""Synthesize the CDK app in-process, once per stage per test session.

Integration tests build their moto tables from these templates, so the tables the tests use are
the tables the stack deploys.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


@lru_cache(maxsize=4)
def synth(stage: str) -> Path:
    """Synthesize ``stage`` into a fresh directory and return the cloud assembly's path."""
    from app import build_app  # infra/app.py, on the pytest pythonpath

    outdir = Path(tempfile.mkdtemp(prefix=f"cdk-{stage}-"))
    build_app(stage, outdir=str(outdir)).synth()
    return outdir


def template(stage: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (synth(stage) / f"MaxTrader-{stage}.template.json").read_text()
    )
    return data


def resources_of_type(stage: str, resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of ``resource_type`` in the stage's template."""
    return {
        logical_id: resource
        for logical_id, resource in template(stage)["Resources"].items()
        if resource["Type"] == resource_type
    }


def validation_report(stage: str) -> dict[str, Any]:
    """The validation plugins' report (cdk-nag) of the stage's synth."""
    report: dict[str, Any] = json.loads((synth(stage) / "validation-report.json").read_text())
    return report


def synth_warnings(stage: str) -> list[str]:
    """The warning annotations of the stage's stack, as the CLI would print them."""
    metadata = json.loads((synth(stage) / f"MaxTrader-{stage}.metadata.json").read_text())
    return [
        str(entry["data"])
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:warning"
    ]


def asset_dir(assembly: Path, stack_name: str, layer: Mapping[str, Any]) -> Path:
    """The staged directory of a LayerVersion's code asset in a synthesized assembly."""
    key = layer["Properties"]["Content"]["S3Key"]
    files = json.loads((assembly / f"{stack_name}.assets.json").read_text())["files"]
    return assembly / str(files[key.removesuffix(".zip")]["source"]["path"])


def create_table_kwargs(stage: str, table_name: str, logical_id: str) -> dict[str, Any]:
    """CreateTable arguments from the synthesized AWS::DynamoDB::Table resource."""
    resource = template(stage)["Resources"][logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    props = resource["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props["BillingMode"],
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            kwargs[key] = props[key]
    return kwargs
