"""The dependency rule.

- The core (domain/, trading/, backtest/) and the functions' logic (parity/, the scheduled
  operations, and the other packages in ``SERVICES``) import no AWS, broker or vendor SDK, nor
  read the wall clock.
- trading/ (the decisions both drivers make) imports neither the backtester nor an adapter.
- The functions' logic sees ports, never adapters, the runtime or the CLI: the handlers build
  adapters (maxtrader/runtime/factory.py) and hand them in, so the logic runs on the memory
  adapters in the unit tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "layers" / "core" / "maxtrader"
FORBIDDEN = ("boto3", "botocore", "alpaca", "massive", "polygon", "aws_lambda_powertools")
_NOT_PORTS = ("maxtrader.adapters", "maxtrader.runtime", "maxtrader.cli")

# The functions' logic: a package, or chosen modules of one, and what else it must not import.
SERVICES: dict[str, tuple[str, ...]] = {
    "parity": (*_NOT_PORTS, "maxtrader.data"),
    "signals": (*_NOT_PORTS, "maxtrader.backtest", "maxtrader.data"),
    "execution": (*_NOT_PORTS, "maxtrader.backtest", "maxtrader.data", "maxtrader.emulators"),
    "operations/alert_kinds.py": (*_NOT_PORTS, "maxtrader.backtest"),
    "operations/eod.py": (*_NOT_PORTS, "maxtrader.backtest"),
    "operations/health.py": (*_NOT_PORTS, "maxtrader.backtest"),
    "operations/premarket.py": (*_NOT_PORTS, "maxtrader.backtest"),
    "operations/regime.py": (*_NOT_PORTS, "maxtrader.backtest"),
    "operations/run_result.py": (*_NOT_PORTS, "maxtrader.backtest"),
    "operations/safety_gauges.py": (*_NOT_PORTS, "maxtrader.backtest"),
    **{
        f"operations/{p.name}": (*_NOT_PORTS, "maxtrader.backtest")
        for p in (CORE / "operations").glob("monitor*.py")
    },
}


def _files(entry: str) -> list[Path]:
    path = CORE / entry
    return [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))


SERVICE_FILES = [(p, upward) for entry, upward in SERVICES.items() for p in _files(entry)]
CORE_FILES = sorted(
    {p for sub in ("domain", "trading", "backtest") for p in (CORE / sub).rglob("*.py")}
    | {p for p, _ in SERVICE_FILES}
)
TRADING_FILES = sorted((CORE / "trading").rglob("*.py"))


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _ids(p: Path) -> str:
    return str(p.relative_to(CORE))


@pytest.mark.parametrize("path", CORE_FILES, ids=_ids)
def test_core_module_imports_no_vendor_sdk(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [m for m in imported_modules(tree) if m.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.relative_to(CORE)} imports {bad}"


@pytest.mark.parametrize("path", CORE_FILES, ids=_ids)
def test_core_module_never_reads_the_wall_clock(path: Path) -> None:
    source = path.read_text()
    allowed = path.name == "clock.py"  # SystemClock is the one place
    for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
        assert allowed or call not in source, f"{path.relative_to(CORE)} calls {call}"


@pytest.mark.parametrize("path", TRADING_FILES, ids=_ids)
def test_trading_never_imports_its_drivers_or_adapters(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    upward = ("maxtrader.backtest", "maxtrader.adapters", "maxtrader.cli", "maxtrader.data")
    bad = [m for m in imported_modules(tree) if m.startswith(upward)]
    assert not bad, f"{path.relative_to(CORE)} imports {bad}"


@pytest.mark.parametrize(("path", "upward"), SERVICE_FILES, ids=[_ids(p) for p, _ in SERVICE_FILES])
def test_function_logic_sees_ports_not_adapters(path: Path, upward: tuple[str, ...]) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [m for m in imported_modules(tree) if m.startswith(upward)]
    assert not bad, f"{path.relative_to(CORE)} imports {bad}"


def test_the_rule_has_something_to_check() -> None:
    assert len(CORE_FILES) >= 3
    assert any(p.parent.name == "trading" for p in CORE_FILES)
    assert len(TRADING_FILES) >= 5
    assert all(p.is_file() for p, _ in SERVICE_FILES)
    assert {entry.split("/")[0] for entry in SERVICES} <= {p.name for p in CORE.iterdir()}
    assert len(SERVICE_FILES) >= len(SERVICES)
