"""The simulator's parity line: the parity function's stored answer, as the summary shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.parity.compare import Difference, DifferenceKind, ParityResult
from maxtrader.parity.nightly import capped
from maxtrader.simulate.parity import stored_parity

DAY = date(2024, 6, 12)


def record(result: ParityResult) -> AuditRecord:
    # What the parity function stores (parity/nightly.py): the capped result as the detail.
    return AuditRecord(
        ts=datetime(2024, 6, 12, 20, 30, tzinfo=UTC),
        kind=AuditKind.PARITY,
        subject=DAY.isoformat(),
        actor="parity",
        detail=capped(result),
    )


def test_a_day_in_parity_reads_as_the_same_signals_and_verdicts() -> None:
    stored = ParityResult(day=DAY, ok=True, compared={"signals_live": 4}, differences=[])
    shown = stored_parity(record(stored))
    assert (shown.ok, shown.status, shown.compared) == (True, "same signals and verdicts",
                                                        {"signals_live": 4})  # fmt: skip
    assert shown.differences == []


def test_differences_are_counted_from_the_stored_total_and_carry_their_cause() -> None:
    many = [
        Difference(kind=DifferenceKind.MISSING_IN_BACKTEST, subject=f"s{i}", cause="kill switch")
        for i in range(60)
    ]
    shown = stored_parity(record(ParityResult(day=DAY, ok=False, compared={}, differences=many)))
    assert shown.ok is False and shown.status == "60 difference(s)"
    assert shown.differences and all(d["cause"] == "kill switch" for d in shown.differences)
