"""The ingest's shape: the logic package has no AWS SDK and no wall clock; handlers stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INGEST = sorted((REPO / "layers" / "core" / "maxtrader" / "ingest").rglob("*.py"))
HANDLERS = sorted((REPO / "functions").rglob("handler.py"))
MAX_HANDLER_LINES = 100


def imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", INGEST, ids=lambda p: p.name)
def test_the_ingest_logic_uses_ports_not_boto3_nor_the_wall_clock(path: Path) -> None:
    roots = {m.split(".")[0] for m in imported(path)}
    assert not roots & {"boto3", "botocore", "alpaca", "massive", "pandas", "numpy"}
    assert not any(m.startswith("maxtrader.adapters") for m in imported(path))
    source = path.read_text()
    for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
        assert call not in source, f"{path.name} reads the wall clock"


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_handlers_are_thin_and_build_no_clients_themselves(path: Path) -> None:
    assert len(path.read_text().splitlines()) < MAX_HANDLER_LINES
    roots = {m.split(".")[0] for m in imported(path)}
    assert not roots & {"boto3", "botocore"}, "clients come from maxtrader.runtime.factory"


def test_there_is_something_to_check() -> None:
    assert len(INGEST) >= 4
    assert HANDLERS
