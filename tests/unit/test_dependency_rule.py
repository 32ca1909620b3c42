"""The core (domain/, trading/, backtest/, execution/) imports no AWS, broker or vendor SDK, nor
reads the wall clock; trading/ (the decisions both drivers make) and execution/ (the execute
function's logic) import neither the backtester nor an adapter nor the runtime."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "layers" / "core" / "maxtrader"
FORBIDDEN = ("boto3", "botocore", "alpaca", "massive", "polygon", "aws_lambda_powertools")
CORE_FILES = sorted(
    p
    for sub in ("domain", "trading", "backtest", "execution")
    if (CORE / sub).is_dir()
    for p in (CORE / sub).rglob("*.py")
)
TRADING_FILES = sorted((CORE / "trading").rglob("*.py"))
EXECUTION_FILES = sorted((CORE / "execution").rglob("*.py"))


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_vendor_sdk(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [m for m in imported_modules(tree) if m.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.relative_to(CORE)} imports {bad}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_never_reads_the_wall_clock(path: Path) -> None:
    source = path.read_text()
    allowed = path.name == "clock.py"  # SystemClock is the one place
    for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
        assert allowed or call not in source, f"{path.relative_to(CORE)} calls {call}"


@pytest.mark.parametrize(
    "path", TRADING_FILES + EXECUTION_FILES, ids=lambda p: str(p.relative_to(CORE))
)
def test_trading_never_imports_its_drivers_or_adapters(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    upward = ("maxtrader.backtest", "maxtrader.adapters", "maxtrader.cli", "maxtrader.data",
              "maxtrader.runtime", "maxtrader.emulators")  # fmt: skip
    bad = [m for m in imported_modules(tree) if m.startswith(upward)]
    assert not bad, f"{path.relative_to(CORE)} imports {bad}"


def test_the_rule_has_something_to_check() -> None:
    assert len(CORE_FILES) >= 3
    assert any(p.parent.name == "trading" for p in CORE_FILES)
    assert len(TRADING_FILES) >= 5
    assert any(p.name == "service.py" for p in EXECUTION_FILES)
