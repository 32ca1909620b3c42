"""Parity in the simulator: the simulated live day against the same bars through the backtester.

The comparison is the nightly check's (``maxtrader.parity.check_day``): the day's stored bars,
regime readings and start-of-day equity replayed through the backtester, its signals and
verdicts compared with the day's audit log by signal id. Run after the simulated close, on
the very tables the handlers wrote. With no drill on, parity must hold; a drill that changes
live state the backtester cannot know (a kill switch engaged by hand, a forced loss streak)
shows as differences with their cause.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.models import AuditRecord
from maxtrader.parity import DaySources
from maxtrader.parity.nightly import check_day


class ParityResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool | None = None  # None: not run
    status: str = "not run"
    compared: dict[str, int] = Field(default_factory=dict)
    differences: list[dict[str, Any]] = Field(default_factory=list)


def run_parity(day: date, sources: DaySources, safety: SafetyConfig) -> ParityResult:
    """The nightly check on the simulated day; a replay that cannot run says why."""
    try:
        result = check_day(day, sources, safety)
    except MaxTraderError as exc:
        return ParityResult(ok=False, status=f"could not run: {type(exc).__name__}: {exc}")
    return _from_check(result.to_json())


def stored_parity(record: AuditRecord) -> ParityResult:
    """What the parity function itself found and stored (its ``AuditKind.PARITY`` record):
    the same check as ``run_parity`` on the same tables, so the day is not replayed twice."""
    return _from_check(dict(record.detail))


def _from_check(data: dict[str, Any]) -> ParityResult:
    ok = bool(data.get("ok"))
    total = data.get("differences_total", len(data.get("differences", [])))
    return ParityResult(
        ok=ok,
        status="same signals and verdicts" if ok else f"{total} difference(s)",
        compared=data.get("compared", {}),
        differences=data.get("differences", []),
    )
