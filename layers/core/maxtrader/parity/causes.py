"""The guesses at why live and the replay decided differently (parity/compare.py asks).

Each names the likeliest cause an operator can check first (docs/parity.md, "Causes"): a bar
the store or live lacks, a regime that differed, a check whose outcome depends on state the
replay does not carry into the day, the broker's account, sizing inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from maxtrader.parity.records import Decision, Decisions, NotSentView, SignalView, VerdictView
from maxtrader.trading.entries import NotSentReason
from maxtrader.trading.regime import RegimeTimeline

LIVE, REPLAY = "live", "backtest"

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


@dataclass(frozen=True, slots=True)
class CauseContext:
    """What the replay had: the stored bars' starts per symbol, the regime and its source."""

    stored_bars: Mapping[str, frozenset[datetime]] = field(default_factory=dict)
    timeline: RegimeTimeline | None = None
    regime_source: str | None = None


def missing_cause(
    live_has_it: bool, signal: SignalView | None, ctx: CauseContext, other: Decisions
) -> str:
    """Why a signal one side has is missing on the other (``other``)."""
    if signal is None:
        return "a decision without its SIGNAL record: the signals function did not audit it"
    if live_has_it:
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


def decision_cause(a: Decision | None, b: Decision | None) -> str:
    if a is None:
        return "execute did not decide live: the signal message was lost or is on the DLQ"
    if b is None:
        return "the replay did not decide on a signal it made (a backtester defect)"
    side, not_sent = (LIVE, a) if isinstance(a, NotSentView) else (REPLAY, b)
    if isinstance(not_sent, NotSentView) and not_sent.reason == NotSentReason.NO_CONTRACT.value:
        return f"not sent only {side}: no tradeable contract (the broker's chain vs the model's)"
    reason = not_sent.reason if isinstance(not_sent, NotSentView) else "?"
    return f"not sent only {side} ({reason}): equity differed at the decision"


def verdict_cause(a: VerdictView, b: VerdictView) -> str:
    causes = [check_cause(n, LIVE) for n in a.failures if n not in b.failures]
    causes += [check_cause(n, REPLAY) for n in b.failures if n not in a.failures]
    return "; ".join(causes) or "approved differed with the same checks (an engine defect)"


def check_cause(name: str, side: str) -> str:
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
