"""Live's decisions vs the replay's, signal by signal, each difference with a guess at its cause.

    compare(day, live, replay, settings=ParitySettings(), context=None) -> ParityResult

Matched by signal id (deterministic: strategy, symbol, bar), over every id either side knows:

- ``missing_in_live`` / ``missing_in_backtest``: one side has the signal, the other has not
  (then its decision is not compared again);
- ``signal_differs``: strategy, symbol, side, bar or regime differ, or a level (entry, stop,
  target, last price) differs beyond the tolerance; or one side has the decision but no SIGNAL
  record;
- ``decision_differs``: a verdict on one side and a NOT_SENT (or nothing) on the other;
  approved vs rejected; a different set of failing checks; a different NOT_SENT reason;
- ``sizing_differs``: the same verdict for another quantity or order symbol (equity orders;
  options only with ``compare_option_sizing``: live sizes from the broker's quotes, the replay
  from its option model);
- ``unreadable_record``: an audit record of a compared kind without its shape.

``context`` (the replay's inputs) sharpens the causes: which bars were stored, which regime the
replay had and where it came from. The result is JSON-serializable (``to_json``); ``ok`` is True
exactly when there is no difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from maxtrader.parity.records import Decision, Decisions, NotSentView, SignalView, VerdictView
from maxtrader.trading.entries import NotSentReason
from maxtrader.trading.regime import RegimeTimeline

__all__ = [
    "CauseContext",
    "Difference",
    "DifferenceKind",
    "ParityResult",
    "ParitySettings",
    "compare",
]

LIVE, REPLAY = "live", "backtest"
_LEVELS = ("entry", "stop", "target", "last_price")
_IDENTITY = ("strategy", "symbol", "side", "bar_ts")

# Checks whose outcome depends on state the replay does not carry into the day (switches,
# breakers, earlier losses, positions and counts) - or on the day's earlier fills.
STATE_DEPENDENT = frozenset(
    {
        "kill_switch",
        "safe_mode",
        "circuit_breaker",
        "drawdown_stop",
        "state_figures",
        "daily_loss",
        "weekly_loss",
        "monthly_loss",
        "concurrent_positions",
        "daily_trades",
        "strategy_daily_trades",
        "trade_frequency",
        "total_exposure",
        "duplicate_signal",
    }
)
ACCOUNT_DEPENDENT = frozenset({"notional", "account_flags"})
PRICE_DEPENDENT = frozenset(
    {"bounded_risk", "position_size", "premium", "reward_risk", "price_collar"}
)


class DifferenceKind(StrEnum):
    MISSING_IN_LIVE = "missing_in_live"
    MISSING_IN_BACKTEST = "missing_in_backtest"
    SIGNAL_DIFFERS = "signal_differs"
    DECISION_DIFFERS = "decision_differs"
    SIZING_DIFFERS = "sizing_differs"
    UNREADABLE_RECORD = "unreadable_record"
    REPLAY_IMPOSSIBLE = "replay_impossible"


class Difference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DifferenceKind
    subject: str  # the signal id (the day for replay_impossible, the record for unreadable)
    field: str | None = None
    live: JsonValue = None
    backtest: JsonValue = None
    cause: str


class ParityResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    ok: bool
    compared: dict[str, int]
    differences: list[Difference]
    regime_source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class ParitySettings:
    abs_tolerance: float = 1e-6  # levels and prices: |a - b| <= abs or relative tolerance
    rel_tolerance: float = 1e-9
    compare_option_sizing: bool = False


@dataclass(frozen=True, slots=True)
class CauseContext:
    """What the replay had: the stored bars' starts per symbol, the regime and its source."""

    stored_bars: Mapping[str, frozenset[datetime]] = field(default_factory=dict)
    timeline: RegimeTimeline | None = None
    regime_source: str | None = None


def compare(
    day: date,
    live: Decisions,
    replay: Decisions,
    settings: ParitySettings = ParitySettings(),
    context: CauseContext | None = None,
) -> ParityResult:
    ctx = context or CauseContext()
    out: list[Difference] = []
    for side, decisions in ((LIVE, live), (REPLAY, replay)):
        for what in decisions.unreadable:
            out.append(
                Difference(
                    kind=DifferenceKind.UNREADABLE_RECORD,
                    subject=what,
                    field=side,
                    cause=f"a {side} audit record without its shape",
                )
            )
    for sid in sorted(live.ids() | replay.ids()):
        out += _compare_one(sid, live, replay, settings, ctx)
    compared = {
        "signals_live": len(live.signals),
        "signals_backtest": len(replay.signals),
        "decisions_live": len(live.decisions),
        "decisions_backtest": len(replay.decisions),
    }
    return ParityResult(
        day=day, ok=not out, compared=compared, differences=out, regime_source=ctx.regime_source
    )


def _compare_one(
    sid: str, live: Decisions, replay: Decisions, settings: ParitySettings, ctx: CauseContext
) -> list[Difference]:
    if sid not in replay.ids():
        return [_missing(DifferenceKind.MISSING_IN_BACKTEST, sid, live, ctx, other=replay)]
    if sid not in live.ids():
        return [_missing(DifferenceKind.MISSING_IN_LIVE, sid, replay, ctx, other=live)]
    out = _signal_differences(sid, live.signals.get(sid), replay.signals.get(sid), settings)
    a, b = live.decisions.get(sid), replay.decisions.get(sid)
    signal = live.signals.get(sid) or replay.signals.get(sid)
    out += _decision_differences(sid, a, b, signal, settings)
    return out


# --- signals -------------------------------------------------------------------------------------


def _missing(
    kind: DifferenceKind, sid: str, present: Decisions, ctx: CauseContext, *, other: Decisions
) -> Difference:
    signal = present.signals.get(sid)
    decision = present.decisions.get(sid)
    value: JsonValue = _signal_json(signal) if signal is not None else _decision_json(decision)
    side = LIVE if kind is DifferenceKind.MISSING_IN_BACKTEST else REPLAY
    return Difference(
        kind=kind,
        subject=sid,
        live=value if side == LIVE else None,
        backtest=value if side == REPLAY else None,
        cause=_missing_cause(kind, signal, ctx, other),
    )


def _missing_cause(
    kind: DifferenceKind, signal: SignalView | None, ctx: CauseContext, other: Decisions
) -> str:
    if signal is None:
        return "a decision without its SIGNAL record: the signals function did not audit it"
    if kind is DifferenceKind.MISSING_IN_BACKTEST:
        bars = ctx.stored_bars.get(signal.symbol)
        if bars is not None and signal.bar_ts not in bars:
            return (
                f"bar missing in the store: live stepped {signal.symbol} "
                f"{signal.bar_ts.isoformat()}, the replay never saw it"
            )
        replayed = _replay_regime(ctx, signal.decided_at)
        if replayed is not None and replayed != signal.regime:
            return (
                f"regime differed: live {signal.regime}, replay {replayed} "
                f"(replay's regime source: {ctx.regime_source})"
            )
        return (
            "strategy state differed: live stepped other bars before this one (a late, "
            "duplicate or corrected bar) or started the session from other history"
        )
    if not other.signals:
        return "no signal in the live audit log today: was the signals function running?"
    earlier = [s for s in other.signals.values() if s.decided_at <= signal.decided_at]
    if earlier:
        latest = max(earlier, key=lambda s: s.decided_at)
        if latest.regime != signal.regime:
            return (
                f"regime differed: live's last signal before was under {latest.regime}, "
                f"the replay's under {signal.regime}"
            )
    return (
        f"bar missing in live: the signals function did not step {signal.symbol} "
        f"{signal.bar_ts.isoformat()} (lost or late delivery, or a stale state save)"
    )


def _replay_regime(ctx: CauseContext, at: datetime) -> str | None:
    return None if ctx.timeline is None else ctx.timeline.at(at).regime.value


def _signal_differences(
    sid: str, a: SignalView | None, b: SignalView | None, settings: ParitySettings
) -> list[Difference]:
    if a is None and b is None:
        return []
    if a is None or b is None:
        side = LIVE if a is None else REPLAY
        return [
            Difference(
                kind=DifferenceKind.SIGNAL_DIFFERS,
                subject=sid,
                field="record",
                live=a is not None,
                backtest=b is not None,
                cause=f"no SIGNAL record {side}: the signal was decided but not "
                "audited as handed on",
            )
        ]
    out: list[Difference] = []
    for name in _IDENTITY:
        x, y = getattr(a, name), getattr(b, name)
        if x != y:
            out.append(
                _field(
                    sid,
                    name,
                    x,
                    y,
                    "a different bar or strategy under the same id (the signal id scheme changed?)",
                )
            )
    if a.regime != b.regime:
        out.append(
            _field(
                sid,
                "regime",
                a.regime,
                b.regime,
                f"regime differed: live {a.regime}, replay {b.regime}",
            )
        )
    for name in _LEVELS:
        x, y = getattr(a, name), getattr(b, name)
        if not math.isclose(x, y, rel_tol=settings.rel_tolerance, abs_tol=settings.abs_tolerance):
            out.append(
                _field(
                    sid,
                    name,
                    x,
                    y,
                    "bars differed: a bar live stepped is not the "
                    "stored one (a corrected bar), or the strategy's state differed",
                )
            )
    return out


def _field(sid: str, name: str, live: Any, replay: Any, cause: str) -> Difference:
    return Difference(
        kind=DifferenceKind.SIGNAL_DIFFERS,
        subject=sid,
        field=name,
        live=_plain(live),
        backtest=_plain(replay),
        cause=cause,
    )


# --- decisions -----------------------------------------------------------------------------------


def _decision_differences(
    sid: str,
    a: Decision | None,
    b: Decision | None,
    signal: SignalView | None,
    settings: ParitySettings,
) -> list[Difference]:
    if a == b:
        return []
    if isinstance(a, VerdictView) and isinstance(b, VerdictView):
        if a.approved == b.approved and a.failures == b.failures:
            return _sizing_difference(sid, a, b, signal, settings)
        return [
            Difference(
                kind=DifferenceKind.DECISION_DIFFERS,
                subject=sid,
                field="verdict",
                live=_decision_json(a),
                backtest=_decision_json(b),
                cause=_verdict_cause(a, b),
            )
        ]
    if isinstance(a, NotSentView) and isinstance(b, NotSentView):
        cause = "sizing inputs differed: equity or the option chain at the decision"
        return [
            Difference(
                kind=DifferenceKind.DECISION_DIFFERS,
                subject=sid,
                field="not_sent",
                live=a.reason,
                backtest=b.reason,
                cause=cause,
            )
        ]
    return [
        Difference(
            kind=DifferenceKind.DECISION_DIFFERS,
            subject=sid,
            field="decision",
            live=_decision_json(a),
            backtest=_decision_json(b),
            cause=_decision_cause(a, b),
        )
    ]


def _decision_cause(a: Decision | None, b: Decision | None) -> str:
    if a is None:
        return "execute did not decide live: the signal message was lost or is on the DLQ"
    if b is None:
        return "the replay did not decide on a signal it made (a backtester defect)"
    side, not_sent = (LIVE, a) if isinstance(a, NotSentView) else (REPLAY, b)
    if isinstance(not_sent, NotSentView) and not_sent.reason == NotSentReason.NO_CONTRACT.value:
        return f"not sent only {side}: no tradeable contract (the broker's chain vs the model's)"
    reason = not_sent.reason if isinstance(not_sent, NotSentView) else "?"
    return f"not sent only {side} ({reason}): equity differed at the decision"


def _verdict_cause(a: VerdictView, b: VerdictView) -> str:
    causes = [_check_cause(n, LIVE) for n in a.failures if n not in b.failures]
    causes += [_check_cause(n, REPLAY) for n in b.failures if n not in a.failures]
    return "; ".join(causes) or "approved differed with the same checks (an engine defect)"


def _check_cause(name: str, side: str) -> str:
    if name in STATE_DEPENDENT:
        return (
            f"check {name} failed only {side}: state-dependent (switches, breakers, "
            "earlier losses, positions or counts)"
        )
    if name in ACCOUNT_DEPENDENT:
        return f"check {name} failed only {side}: the broker's account vs the replay's"
    if name in PRICE_DEPENDENT:
        return f"check {name} failed only {side}: sizing inputs (equity, quotes) differed"
    if name == "state_store":
        return f"check state_store failed only {side}: the state store was unavailable"
    return f"check {name} failed only {side}"


def _sizing_difference(
    sid: str,
    a: VerdictView,
    b: VerdictView,
    signal: SignalView | None,
    settings: ParitySettings,
) -> list[Difference]:
    option = signal is not None and signal.symbol not in (a.symbol, b.symbol)
    if option and not settings.compare_option_sizing:
        return []
    return [
        Difference(
            kind=DifferenceKind.SIZING_DIFFERS,
            subject=sid,
            field="order",
            live=_decision_json(a),
            backtest=_decision_json(b),
            cause="sizing differed: equity at the decision (earlier fills' prices) "
            "or the option quotes",
        )
    ]


# --- JSON ----------------------------------------------------------------------------------------


def _signal_json(signal: SignalView) -> JsonValue:
    return {name: _plain(getattr(signal, name)) for name in (*_IDENTITY, "regime", *_LEVELS)}


def _decision_json(decision: Decision | None) -> JsonValue:
    if decision is None:
        return None
    if isinstance(decision, NotSentView):
        return {"not_sent": decision.reason}
    return {
        "approved": decision.approved,
        "failures": list(decision.failures),
        "symbol": decision.symbol,
        "qty": decision.qty,
    }


def _plain(value: Any) -> JsonValue:
    return value.isoformat() if isinstance(value, datetime) else value
