"""One symbol's session advanced through a minute: fill the gaps, step, hand on, save, audit.

    advance_symbol(ctx, session, symbol, states, regime, pushed, until) -> SymbolOutcome

``states`` and ``regime`` come from the caller's one ``SessionStore.read_session`` (every
symbol it advances, and the day's regime: ``day_regime``).

``until`` is the exclusive bound of the bar starts to cover (a pushed batch: its last bar's
start + 1 minute; the poll: the minutes closed by its cut-off). The minutes from the last one
stepped (the earliest of the strategies' ``last_ts``; before the open for a started state) up
to ``until`` must all be accounted for before anything is stepped:

1. pushed bars newer than the last stepped minute are taken as they are; older ones (a
   redelivery, a late bar the gap fill already covered) are duplicates and change nothing;
2. a missing minute is read from the session store (ingest stored it, or a poll did), then
   fetched over REST (``MarketData.minute_bars``) and stored idempotently (``put_bars``); a
   minute neither holds had no trade and is skipped, as the backtester's data skips it;
3. if the REST fetch fails (``DataError``), nothing is stepped or saved: the caller fails and
   is retried (the bars queue redelivers, the poll runs again next minute). Stepping past a
   minute the vendor may still deliver would diverge from the backtester for the rest of the
   day, so a gap is never stepped over silently.

Then every strategy steps every bar in order (``trading.session.step_bar``: the same routing
the backtester applies), the routed signals become ``SignalMessage``s (``decided_at`` = the
bar's close) and are sent, THEN the states that moved are saved together (one conditional write:
each conditioned on its ``last_bar_ts``, all stored or none), and if the save won, their signals
are audited.

Why send before saving: a crash or a failed save after the send leaves the state unsaved, so
the retry steps the same bars again and re-sends the same deterministic signal ids, which the
FIFO queue (deduplication id = signal id) and execute (idempotent on the id) drop. Saving first
would lose those signals for good: the retry would find the bar already stepped. A save that
returns False means another delivery stepped these bars first and sent the same ids; this one
is counted as a duplicate and audits nothing (should the winner have stepped fewer bars, the
next delivery steps the rest again, re-sends their ids, which are dropped, and audits them). A
redelivered bar is caught before any send (step 1), so an ordinary duplicate sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from maxtrader.domain.calendar import Session
from maxtrader.domain.clock import Clock
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import (
    MarketData,
    SessionSnapshot,
    SessionStore,
    StateStore,
    StoredStrategyState,
)
from maxtrader.domain.regime import RegimeState
from maxtrader.ingest.service import BAR_RETENTION
from maxtrader.signals.queue import SignalQueue
from maxtrader.signals.session_start import ONE_MINUTE, StateKey, before_open
from maxtrader.trading.session import Routing, step_bar
from maxtrader.trading.signal_message import SignalMessage, signal_audit_record

NO_REGIME_REASON = "no regime stored for the day: no entries"


@dataclass(frozen=True, slots=True)
class AdvanceContext:
    sessions: SessionStore
    audit: StateStore
    queue: SignalQueue
    market_data: MarketData
    routing: Routing
    strategies: Mapping[str, Any]  # name -> Strategy
    clock: Clock


@dataclass(slots=True)
class SymbolOutcome:
    stepped: list[Bar] = field(default_factory=list)
    duplicates: int = 0
    polled: int = 0  # bars fetched over REST and stepped
    sent: list[SignalMessage] = field(default_factory=list)  # sent and saved (audited)
    lost_race: int = 0  # saves refused: another delivery stepped these bars first


def day_regime(snapshot: SessionSnapshot) -> RegimeState:
    """The regime stored for the snapshot's day; none stored is UNKNOWN (no entries)."""
    stored = snapshot.regime
    return stored if stored is not None else RegimeState(day=snapshot.day, reason=NO_REGIME_REASON)


def advance_symbol(
    ctx: AdvanceContext,
    session: Session,
    symbol: str,
    states: Mapping[StateKey, Any],
    regime: RegimeState,
    *,
    pushed: Sequence[Bar],
    until: datetime,
) -> SymbolOutcome:
    out = SymbolOutcome()
    current = {name: states[(name, symbol)] for name in ctx.strategies}
    last = min(s.last_ts or before_open(session) for s in current.values())
    fresh: dict[datetime, Bar] = {}
    for bar in pushed:
        if last < bar.ts < until and bar.ts not in fresh:
            fresh[bar.ts] = bar
    out.duplicates = len(pushed) - len(fresh)
    bars, out.polled = _fill_gaps(ctx, session, symbol, last=last, until=until, fresh=fresh)
    if not bars:
        return out
    messages: list[SignalMessage] = []
    for bar in bars:
        current, step = step_bar(ctx.routing, ctx.strategies, current, bar, regime)
        messages += [
            SignalMessage(signal=s, regime=regime, last_price=bar.close, decided_at=bar.closed_at)
            for s in step.signals
        ]
    if messages:
        ctx.queue.send(messages)
    won = _save(ctx, symbol, states, current)
    out.lost_race = sum(1 for ok in won.values() if not ok)
    if won and not any(won.values()):  # every save refused: another delivery stepped them
        out.duplicates += len(bars)
    else:
        out.stepped = bars
    out.sent = [m for m in messages if won.get(m.signal.strategy, False)]
    if out.sent:
        ctx.audit.append_audit([signal_audit_record(m) for m in out.sent])
    return out


def _fill_gaps(
    ctx: AdvanceContext,
    session: Session,
    symbol: str,
    *,
    last: datetime,
    until: datetime,
    fresh: dict[datetime, Bar],
) -> tuple[list[Bar], int]:
    """The bars to step in order: the fresh ones and every missing minute found (see 2.)."""
    first = max(last + ONE_MINUTE, session.open)
    end = min(until, session.close)
    missing = []
    minute = first
    while minute < end:
        if minute not in fresh:
            missing.append(minute)
        minute += ONE_MINUTE
    polled = 0
    if missing:
        lo, hi = missing[0], missing[-1] + ONE_MINUTE
        wanted = set(missing)
        for bar in ctx.sessions.bars(symbol, lo, hi):
            if bar.ts in wanted:
                fresh[bar.ts] = bar
                wanted.discard(bar.ts)
        if wanted:
            fetched = [
                b
                for b in ctx.market_data.minute_bars(symbol, min(wanted), max(wanted) + ONE_MINUTE)
                if b.ts in wanted and b.minutes == 1 and b.symbol == symbol
            ]
            if fetched:
                ctx.sessions.put_bars(fetched, expires_at=ctx.clock.now() + BAR_RETENTION)
                fresh.update((b.ts, b) for b in fetched)
            polled = len(fetched)
    return [fresh[ts] for ts in sorted(fresh) if session.contains(ts)], polled


def _save(
    ctx: AdvanceContext,
    symbol: str,
    before: Mapping[StateKey, Any],
    after: Mapping[str, Any],
) -> dict[str, bool]:
    """Save the states that moved, together, each conditioned on its last bar; name -> whether
    it was stored (all alike: the save stores all or none)."""
    moved = [
        StoredStrategyState(
            strategy=name, symbol=symbol, last_bar_ts=state.last_ts,
            payload=state.model_dump_json(),
        )
        for name, state in after.items()
        # a state that did not move had stepped these bars already
        if state.last_ts is not None and state.last_ts != before[(name, symbol)].last_ts
    ]  # fmt: skip
    if not moved:
        return {}
    stored = ctx.sessions.save_strategy_states(moved)
    return {state.strategy: stored for state in moved}


__all__ = ["NO_REGIME_REASON", "AdvanceContext", "SymbolOutcome", "advance_symbol", "day_regime"]
