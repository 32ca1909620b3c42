"""The comparison's rules one by one, on hand-made decisions (the real day: end to end)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from maxtrader.parity import Difference, DifferenceKind, ParitySettings, compare
from maxtrader.parity.records import Decisions, NotSentView, SignalView, VerdictView

DAY = date(2024, 7, 2)
BAR = datetime(2024, 7, 2, 14, 0, tzinfo=UTC)
SID = "0123456789abcdef01234567"
SIGNAL = SignalView("vwap_reversion", "SPY", "long", 540.0, 539.0, 542.0, BAR, "NORMAL_VOL",
                    540.1, BAR + timedelta(minutes=1))  # fmt: skip
CALL = "SPY240702C00540000"


def side(
    decision: VerdictView | NotSentView | None, signal: SignalView | None = SIGNAL
) -> Decisions:
    out = Decisions()
    if signal is not None:
        out.signals[SID] = signal
    if decision is not None:
        out.decisions[SID] = decision
    return out


def only(live: Decisions, replay: Decisions, settings: ParitySettings | None = None) -> Difference:
    (difference,) = compare(DAY, live, replay, settings or ParitySettings()).differences
    return difference


def test_an_option_orders_quantity_is_not_compared_unless_asked() -> None:
    live, replay = side(VerdictView(True, (), CALL, 2)), side(VerdictView(True, (), CALL, 3))
    assert compare(DAY, live, replay).ok
    asked = only(live, replay, ParitySettings(compare_option_sizing=True))
    assert (asked.kind, asked.field) == (DifferenceKind.SIZING_DIFFERS, "order")
    assert asked.cause.startswith("sizing differed")


def test_an_equity_order_for_another_quantity_is_a_sizing_difference() -> None:
    d = only(side(VerdictView(True, (), "SPY", 10)), side(VerdictView(True, (), "SPY", 11)))
    assert (d.kind, d.live, d.backtest) == (
        DifferenceKind.SIZING_DIFFERS,
        {"approved": True, "failures": [], "symbol": "SPY", "qty": 10},
        {"approved": True, "failures": [], "symbol": "SPY", "qty": 11},
    )


def test_equity_against_option_names_the_configuration() -> None:
    d = only(side(VerdictView(True, (), "SPY", 700)), side(VerdictView(True, (), CALL, 3)))
    assert d.cause.startswith("instrument differed (equity vs option)")


def test_a_signal_execute_never_decided_points_at_the_queue() -> None:
    d = only(side(None), side(VerdictView(True, (), "SPY", 10)))
    assert (d.kind, d.field, d.live) == (DifferenceKind.DECISION_DIFFERS, "decision", None)
    assert d.cause.startswith("execute did not decide live")


def test_not_sent_on_one_side_names_its_reason() -> None:
    d = only(side(NotSentView("no_tradeable_contract")), side(VerdictView(True, (), CALL, 1)))
    assert (
        d.cause == "not sent only live: no tradeable contract (the broker's chain vs the model's)"
    )
    d = only(side(VerdictView(True, (), "SPY", 1)), side(NotSentView("size_below_one_unit")))
    assert (
        d.cause == "not sent only backtest (size_below_one_unit): equity differed at the decision"
    )


def test_each_check_failing_on_one_side_only_is_named_with_its_kind() -> None:
    live = side(VerdictView(False, ("kill_switch", "reward_risk"), "SPY", 5))
    replay = side(VerdictView(False, ("account_flags", "reward_risk", "state_store"), "SPY", 5))
    d = only(live, replay)
    assert d.cause == "; ".join([
        "check kill_switch failed only live: state-dependent (switches, breakers, earlier "
        "losses, positions or counts)",
        "check account_flags failed only backtest: the broker's account vs the replay's",
        "check state_store failed only backtest: the state store was unavailable",
    ])  # fmt: skip


def test_the_signals_regime_and_side_are_compared_exactly() -> None:
    d = only(side(None), side(None, replace(SIGNAL, regime="HIGH_VOL")))
    assert (d.kind, d.field, d.live, d.backtest) == (
        DifferenceKind.SIGNAL_DIFFERS, "regime", "NORMAL_VOL", "HIGH_VOL",
    )  # fmt: skip
    assert d.cause == "regime differed: live NORMAL_VOL, replay HIGH_VOL"
    flipped = replace(SIGNAL, side="short", stop=541.0, target=538.0)
    found = compare(DAY, side(None), side(None, flipped)).differences
    assert [x.field for x in found] == ["side", "stop", "target"]
