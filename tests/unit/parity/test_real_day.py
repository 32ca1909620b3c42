"""A real shared-data day: the live-side core driven bar by bar on memory adapters writes the
"live" audit log (tests/support/live_session.py); the nightly replay of the stored day through
the backtester must find the same signals and verdicts, and a tampered log exactly its
tampering, each difference with its cause.

2024-07-02 in equity mode: two signals, one approved, one rejected by the notional check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.models import AuditKind, AuditRecord, Regime
from maxtrader.domain.regime import RegimeState
from maxtrader.parity import DifferenceKind, ParityResult, check_day, regime_record
from maxtrader.parity.records import decisions_of
from maxtrader.parity.replay import load_day, replay_day
from tests.support.parity_day import CALENDAR, EQUITY, LiveDay, live_day

DAY = date(2024, 7, 2)
pytestmark = pytest.mark.slow  # the shared SPY file loads in a few seconds


@pytest.fixture(scope="module")
def equity_day() -> LiveDay:
    return live_day(DAY, EQUITY)


def parity(day: LiveDay) -> ParityResult:
    return check_day(day.day, day.sources(), day.cfg.safety)


def signals(day: LiveDay) -> list[AuditRecord]:
    return [r for r in day.log() if r.kind is AuditKind.SIGNAL]


def entry_verdicts(day: LiveDay) -> list[AuditRecord]:
    return [r for r in day.log() if r.kind is AuditKind.VERDICT and detail(r)["purpose"] == "entry"]


def detail(record: AuditRecord) -> dict[str, Any]:
    return dict(record.detail)


def as_dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


def edited(
    log: list[AuditRecord], subject: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[AuditRecord]:
    """``log`` with the detail of the records of ``subject`` changed."""
    return [
        r.model_copy(update={"detail": change(dict(r.detail))}) if r.subject == subject else r
        for r in log
    ]


# --- parity holds ----------------------------------------------------------------------------


def test_the_day_is_what_the_test_says(equity_day: LiveDay) -> None:
    verdicts = entry_verdicts(equity_day)
    assert len(signals(equity_day)) == 2
    assert sorted(detail(v)["approved"] for v in verdicts) == [False, True]
    assert [f["name"] for v in verdicts for f in detail(v)["failures"]] == ["notional"]


def test_parity_holds_on_a_real_day_in_equity_mode(equity_day: LiveDay) -> None:
    result = parity(equity_day)
    assert result.ok, result.differences
    assert result.compared == {
        "signals_live": 2,
        "signals_backtest": 2,
        "decisions_live": 2,
        "decisions_backtest": 2,
    }
    assert result.regime_source == "audit"


@pytest.mark.parametrize("day", [date(2024, 7, 2), date(2024, 7, 18)])
def test_parity_holds_on_a_real_day_in_option_mode(day: date) -> None:
    live = live_day(day)
    result = parity(live)
    assert result.ok, result.differences
    assert result.compared["signals_live"] >= 2


SMALL = ("backtest.initial_equity=40000",)  # the risk budget follows the equity: sizing shows it


@pytest.mark.parametrize(
    "overrides", [(), EQUITY, (*EQUITY, *SMALL)], ids=["option", "equity", "equity-40k"]
)
def test_every_night_of_a_real_month_live_style_with_state_carried_over_is_in_parity(
    overrides: tuple[str, ...],
) -> None:
    month = live_day(date(2024, 7, 31), overrides, since=date(2024, 7, 1))
    days = CALENDAR.sessions_between(date(2024, 7, 1), date(2024, 7, 31))
    results = [check_day(s.day, month.sources(), month.cfg.safety) for s in days]
    assert [r.differences for r in results if not r.ok] == []
    assert sum(r.compared["signals_live"] for r in results) >= 15
    assert sum(r.compared["decisions_backtest"] for r in results) >= 15


def test_a_day_replayed_twice_gives_the_same_records_and_ok(equity_day: LiveDay) -> None:
    sources = equity_day.sources()
    inputs = load_day(DAY, sources)
    first = replay_day(inputs, equity_day.cfg.safety, sources.strategies, sources.calendar)
    second = replay_day(inputs, equity_day.cfg.safety, sources.strategies, sources.calendar)
    assert first == second
    assert parity(equity_day.with_log(first)).ok  # the replay's own records as the live log
    assert parity(equity_day) == parity(equity_day)


# --- a tampered log: exactly the tampering, with its cause ---------------------------------------


def test_a_signal_removed_is_missing_in_live_as_a_bar_live_did_not_step(
    equity_day: LiveDay,
) -> None:
    gone = signals(equity_day)[0].subject
    log = [r for r in equity_day.log() if gone not in (r.subject, r.detail.get("signal_id"))]
    (diff,) = parity(equity_day.with_log(log)).differences
    assert (diff.kind, diff.subject) == (DifferenceKind.MISSING_IN_LIVE, gone)
    assert diff.cause.startswith("bar missing in live")
    assert diff.live is None and as_dict(diff.backtest)["side"] == "short"


def test_only_the_signal_record_removed_is_a_signal_without_its_record(
    equity_day: LiveDay,
) -> None:
    gone = signals(equity_day)[1].subject
    log = [r for r in equity_day.log() if not (r.kind is AuditKind.SIGNAL and r.subject == gone)]
    (diff,) = parity(equity_day.with_log(log)).differences
    assert (diff.kind, diff.subject, diff.field) == (DifferenceKind.SIGNAL_DIFFERS, gone, "record")


def test_a_level_changed_is_that_level_beyond_the_tolerance(equity_day: LiveDay) -> None:
    sid = signals(equity_day)[0].subject
    stop = signals(equity_day)[0].detail["stop"]
    assert isinstance(stop, float)
    log = edited(equity_day.log(), sid, lambda d: {**d, "stop": stop + 0.05})
    (diff,) = parity(equity_day.with_log(log)).differences
    assert (diff.kind, diff.field, diff.live, diff.backtest) == (
        DifferenceKind.SIGNAL_DIFFERS, "stop", stop + 0.05, stop,
    )  # fmt: skip
    assert diff.cause.startswith("bars differed")
    within = edited(equity_day.log(), sid, lambda d: {**d, "stop": stop + 1e-9})
    assert parity(equity_day.with_log(within)).ok  # inside the tolerance


def test_a_verdict_flipped_names_the_check_that_failed_only_in_the_backtest(
    equity_day: LiveDay,
) -> None:
    rejected = next(v for v in entry_verdicts(equity_day) if not detail(v)["approved"])
    log = edited(equity_day.log(), rejected.subject, lambda d: {**d, "approved": True,
                                                                "failures": []})  # fmt: skip
    (diff,) = parity(equity_day.with_log(log)).differences
    assert (diff.kind, diff.subject, diff.field) == (
        DifferenceKind.DECISION_DIFFERS, detail(rejected)["signal_id"], "verdict",
    )  # fmt: skip
    assert diff.live == {"approved": True, "failures": [], "symbol": "SPY", "qty": 817}
    assert as_dict(diff.backtest)["failures"] == ["notional"]
    assert diff.cause == "check notional failed only backtest: the broker's account vs the replay's"


def test_an_extra_signal_is_missing_in_the_backtest(equity_day: LiveDay) -> None:
    model = signals(equity_day)[0]
    bar_ts = model.ts - timedelta(minutes=7)  # a bar the replay signals nothing on
    extra = model.model_copy(update={
        "subject": "feedfacefeedfacefeedface",
        "ts": bar_ts + timedelta(minutes=1),
        "detail": {**model.detail, "bar_ts": bar_ts.isoformat()},
    })  # fmt: skip
    (diff,) = parity(equity_day.with_log([*equity_day.log(), extra])).differences
    assert (diff.kind, diff.subject) == (DifferenceKind.MISSING_IN_BACKTEST, extra.subject)
    assert diff.cause.startswith("strategy state differed")


def test_all_four_tamperings_at_once_are_exactly_four_differences(equity_day: LiveDay) -> None:
    rejected = next(v for v in entry_verdicts(equity_day) if not detail(v)["approved"])
    approved = next(v for v in entry_verdicts(equity_day) if detail(v)["approved"])
    gone, kept = detail(rejected)["signal_id"], detail(approved)["signal_id"]
    log = [r for r in equity_day.log() if gone not in (r.subject, r.detail.get("signal_id"))]
    log = edited(
        log,
        approved.subject,
        lambda d: {
            **d,
            "approved": False,
            "failures": [{"name": "daily_loss", "reason": "x", "observed": 1, "limit": 0}],
        },
    )
    log = edited(log, kept, lambda d: {**d, "target": d["target"] + 1.0})
    extra = next(r for r in log if r.subject == kept).model_copy(
        update={"subject": "0123456789abcdef01234567"}
    )
    result = parity(equity_day.with_log([*log, extra]))
    found = sorted((d.kind.value, d.subject, d.field) for d in result.differences)
    assert found == sorted([
        ("missing_in_live", gone, None),
        ("signal_differs", kept, "target"),
        ("decision_differs", kept, "verdict"),
        ("missing_in_backtest", extra.subject, None),
    ])  # fmt: skip
    flipped = next(d for d in result.differences if d.field == "verdict")
    assert flipped.cause.startswith("check daily_loss failed only live: state-dependent")


# --- causes from the day's state -------------------------------------------------------------


def test_a_kill_switch_live_had_is_a_state_dependent_difference() -> None:
    halted = live_day(DAY, EQUITY, kill_switch=True)
    verdicts = entry_verdicts(halted)
    assert verdicts and not any(detail(v)["approved"] for v in verdicts)
    result = parity(halted)
    causes = [d.cause for d in result.differences]
    assert len(causes) == len(verdicts) == 2
    assert all("check kill_switch failed only live: state-dependent" in c for c in causes)


def test_a_bar_the_store_lacks_is_named_as_the_cause(equity_day: LiveDay) -> None:
    signal = signals(equity_day)[0]
    bar_ts = detail(signal)["bar_ts"]
    bar = next(b for b in equity_day.live_bars() if b.ts.isoformat() == bar_ts)
    result = parity(equity_day.without_bar(bar))
    mine = [d for d in result.differences if d.subject == signal.subject]
    assert [d.kind for d in mine] == [DifferenceKind.MISSING_IN_BACKTEST]
    assert mine[0].cause.startswith("bar missing in the store")


def test_a_regime_live_decided_under_but_did_not_store_is_named(equity_day: LiveDay) -> None:
    # Live traded under its regime; the day's REGIME records say EXTREME_CALM_PAUSE (no
    # entries): every live signal is missing in the backtest, and the regime is the cause.
    paused = RegimeState(day=DAY, regime=Regime.EXTREME_CALM_PAUSE, vix=9.0, reason="test")
    log = [r for r in equity_day.log() if r.kind is not AuditKind.REGIME]
    open_ = equity_day.sources().calendar.session(DAY).open  # type: ignore[union-attr]
    result = parity(equity_day.with_log([regime_record(paused, open_), *log]))
    assert [d.kind for d in result.differences] == [DifferenceKind.MISSING_IN_BACKTEST] * 2
    assert all(d.cause.startswith("regime differed") for d in result.differences)


def test_no_start_of_day_equity_makes_the_replay_impossible_not_silent(
    equity_day: LiveDay,
) -> None:
    store = InMemoryStateStore()  # the day's audit log, but the pre-market run stored nothing
    store.append_audit(equity_day.log())
    sources = replace(equity_day.sources(), state_store=store)
    result = check_day(DAY, sources, equity_day.cfg.safety)
    assert not result.ok
    assert [d.kind for d in result.differences] == [DifferenceKind.REPLAY_IMPOSSIBLE]
    assert result.compared == {"signals_live": 2}


def test_the_replays_records_are_the_live_shapes(equity_day: LiveDay) -> None:
    sources = equity_day.sources()
    inputs = load_day(DAY, sources)
    replayed = replay_day(inputs, equity_day.cfg.safety, sources.strategies, sources.calendar)
    live_signals = {r.subject: r.detail for r in signals(equity_day)}
    ours = {r.subject: r.detail for r in replayed if r.kind is AuditKind.SIGNAL}
    assert ours == live_signals  # the same detail, key for key
    assert decisions_of(replayed).decisions == decisions_of(equity_day.log()).decisions
