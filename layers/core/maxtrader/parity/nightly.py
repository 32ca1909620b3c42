"""The nightly parity run: today's stored day through the backtester vs today's audit log.

    check_day(day, sources, safety, settings) -> ParityResult        replay + compare (also what
                                                                     ``maxtrader simulate`` runs)
    nightly_parity(day, ports, now=...) -> NightlyOutcome            + alert and store

Any difference is alerted (one SMS-sized line, the differences in the details; deduplicated per
day) and the result is stored as an ``AuditKind.PARITY`` record (subject = the day, detail =
the result with at most ``MAX_STORED`` differences and their total). The alert goes out before
the record is stored: a retry after a failed write re-stores, and the alert's cooldown keeps it
from going out twice. A day with nothing to replay from (no start-of-day equity) is itself a
difference (``replay_impossible``): the check never passes silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import JsonValue

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alert, Alerts
from maxtrader.parity.compare import (
    CauseContext,
    Difference,
    DifferenceKind,
    ParityResult,
    ParitySettings,
    compare,
)
from maxtrader.parity.records import decisions_of
from maxtrader.parity.replay import DaySources, load_day, replay_day

__all__ = [
    "MAX_LINE",
    "MAX_STORED",
    "NightlyOutcome",
    "ParityPorts",
    "alert_line",
    "check_day",
    "nightly_parity",
]

MAX_STORED = 50  # differences kept in the stored record and the alert (a DynamoDB item: 400 KB)
MAX_LINE = 140
ACTOR = "parity"


@dataclass(frozen=True, slots=True)
class ParityPorts:
    sources: DaySources
    alerts: Alerts
    safety: SafetyConfig
    settings: ParitySettings = ParitySettings()  # noqa: RUF009 - frozen


@dataclass(frozen=True, slots=True)
class NightlyOutcome:
    result: ParityResult | None  # None: not a session
    alerted: bool = False
    stored: bool = False

    def answer(self) -> dict[str, JsonValue]:
        if self.result is None:
            return {"skipped": "not a session"}
        r = self.result
        return {
            "day": r.day.isoformat(),
            "ok": r.ok,
            "differences": len(r.differences),
            "alerted": self.alerted,
            "stored": self.stored,
        }


def check_day(
    day: date,
    sources: DaySources,
    safety: SafetyConfig,
    settings: ParitySettings = ParitySettings(),  # noqa: B008 - frozen
) -> ParityResult:
    inputs = load_day(day, sources)
    live = decisions_of(inputs.audit_log)
    if inputs.start_equity is None:
        missing = Difference(
            kind=DifferenceKind.REPLAY_IMPOSSIBLE,
            subject=day.isoformat(),
            cause="no start-of-day equity stored: the pre-market run did not record the day",
        )
        return ParityResult(
            day=day,
            ok=False,
            compared={"signals_live": len(live.signals)},
            differences=[missing],
            regime_source=inputs.regime_source,
        )
    replayed = replay_day(inputs, safety, sources.strategies, sources.calendar)
    context = CauseContext(
        stored_bars={s: frozenset(b.ts for b in bars) for s, bars in inputs.day_bars.items()},
        timeline=inputs.timeline,
        regime_source=inputs.regime_source,
    )
    return compare(day, live, decisions_of(replayed), settings, context)


def nightly_parity(day: date, ports: ParityPorts, *, now: datetime) -> NightlyOutcome:
    """``now``: the run's scheduled time (after the close), the stored record's time."""
    if ports.sources.calendar.session(day) is None:
        return NightlyOutcome(None)
    result = check_day(day, ports.sources, ports.safety, ports.settings)
    alerted = False
    if not result.ok:
        alerted = ports.alerts.publish(
            Alert(
                subject=f"MaxTrader parity: live differs from the backtest on {day.isoformat()}",
                line=alert_line(result),
                details=capped(result),
                dedup_key=f"parity:{day.isoformat()}",
            )
        )
    record = AuditRecord(
        ts=now, kind=AuditKind.PARITY, subject=day.isoformat(), actor=ACTOR, detail=capped(result)
    )
    ports.sources.state_store.append_audit([record])
    return NightlyOutcome(result, alerted=alerted, stored=True)


def alert_line(result: ParityResult) -> str:
    """One line of at most ``MAX_LINE`` characters: how many differences, and the first."""
    n = len(result.differences)
    first = result.differences[0]
    line = (
        f"Parity {result.day.isoformat()}: {n} difference{'s' if n != 1 else ''}; "
        f"{first.kind.value}: {first.cause}"
    )
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def capped(result: ParityResult) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = result.to_json()
    out["differences_total"] = len(result.differences)
    out["differences"] = out["differences"][:MAX_STORED]  # type: ignore[index]
    return out
