"""The regime of a day as live had it, read back from what live stored.

    regime_record(state, at, actor="regime") -> AuditRecord     what the regime function audits
    live_timeline(day, session, records, stored) -> (RegimeTimeline, source)

Live, the regime function stores the day's state every 5 minutes (``SessionStore.save_regime``,
the last writer wins, so only the latest state survives) and audits each tick as an
``AuditKind.REGIME`` record: ``ts`` = the tick's scheduled time, ``detail`` = the RegimeState
(``model_dump(mode="json")``). The replay takes, in this order:

1. ``audit``: the day's REGIME records, as a timeline of changes from each record's ``ts``
   (before the first one, no regime was stored: UNKNOWN, no entries, as the signals function
   fails closed without one);
2. ``stored``: the stored state, held for the whole session (it is the LAST state of the day,
   so an intraday change is lost: the comparison's "regime differed" cause says so);
3. ``none``: UNKNOWN all day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import ValidationError

from maxtrader.domain.calendar import Session
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.regime import RegimeState
from maxtrader.trading.regime import RegimeTimeline

__all__ = ["AUDIT", "NONE", "STORED", "live_timeline", "regime_record"]

AUDIT, STORED, NONE = "audit", "stored", "none"


def regime_record(state: RegimeState, at: datetime, actor: str = "regime") -> AuditRecord:
    """The REGIME audit record of one regime tick at ``at`` (its scheduled time)."""
    return AuditRecord(
        ts=at,
        kind=AuditKind.REGIME,
        subject=state.day.isoformat(),
        actor=actor,
        detail=state.model_dump(mode="json"),
    )


def live_timeline(
    day: date,
    session: Session,
    records: Iterable[AuditRecord],
    stored: RegimeState | None,
) -> tuple[RegimeTimeline, str]:
    """The regimes in force through ``session`` as live had them, and where they came from."""
    ticks = sorted(_ticks(day, session, records), key=lambda t: t[0])
    if ticks:
        changes: list[tuple[datetime, RegimeState]] = []
        if ticks[0][0] > session.open:
            changes.append((session.open, RegimeState(day=day)))
        for at, state in ticks:
            if not changes or changes[-1][1] != state:
                changes.append((at, state))
        return RegimeTimeline(changes), AUDIT
    if stored is not None and stored.day == day:
        return RegimeTimeline.constant(stored, session.open), STORED
    return RegimeTimeline.constant(RegimeState(day=day), session.open), NONE


def _ticks(
    day: date, session: Session, records: Iterable[AuditRecord]
) -> Iterable[tuple[datetime, RegimeState]]:
    for record in records:
        if record.kind is not AuditKind.REGIME or record.ts >= session.close:
            continue
        try:
            state = RegimeState.model_validate(record.detail)
        except ValidationError:
            continue  # not a tick's state (another writer's record): not a regime we can replay
        if state.day == day:
            yield record.ts, state
