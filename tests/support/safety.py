"""Builders shared by the safety engine's unit, integration and property tests (and the bench)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from maxtrader.config.safety import Limits, SafetyConfig
from maxtrader.domain.clock import Clock, iso_week, month_key, trading_date
from maxtrader.domain.models import (
    Fill,
    Instrument,
    OrderIntent,
    OrderPurpose,
    OrderSide,
    Regime,
    client_order_id,
)
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety.checks import max_loss
from maxtrader.domain.safety.context import AccountFlags, MarketContext
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import (
    Reservation,
    ReservationGuards,
    SnapshotKeys,
    Ticket,
)

_IDS = count(1)
EQUITY = 100_000.0


def make_engine(
    store: StateStore,
    clock: Clock,
    config: SafetyConfig | None = None,
    *,
    seed: float | None = EQUITY,
    **kwargs: Any,
) -> SafetyEngine:
    """An engine whose store holds today's start-of-day equity and a marked equity of ``seed``
    (as the pre-market run and the monitor leave them); ``seed=None``: an empty store."""
    if seed is not None:
        seed_figures(store, clock, seed)
    return SafetyEngine(config or SafetyConfig(), store, clock, **kwargs)


def uniform_config(limits: Mapping[str, Any], **sections: Any) -> SafetyConfig:
    """``limits`` in every regime: each regime's trades and positions pinned to the base values.

    Overrides merge over the specification's per regime, so ``regime_overrides: {}`` keeps
    NORMAL_VOL's 3 positions and UNKNOWN's 0/0; pinning them is how a test says "no override".
    """
    base = Limits.model_validate(dict(limits))
    pinned = {
        "max_daily_trades": base.max_daily_trades,
        "max_concurrent_positions": base.max_concurrent_positions,
    }
    return SafetyConfig.model_validate(
        {"limits": dict(limits), "regime_overrides": dict.fromkeys(Regime, pinned), **sections}
    )


def seed_figures(store: StateStore, clock: Clock, equity: float = EQUITY) -> None:
    """What the pre-market run and the monitor leave in the store (without their audit records,
    which tests count): today's start-of-day equity and a marked ``equity``, nothing held."""
    if store.start_of_day_equity(trading_date(clock.now())) is not None:
        return  # a second engine on the same store: it finds what the first one left
    store.put_start_of_day_equity(trading_date(clock.now()), equity)
    store.update_marks(unrealized=0.0, marks={}, equity=equity, peak=equity)


def signal_ref(prefix: str = "sig") -> str:
    return f"{prefix}{next(_IDS):010d}"


def entry(
    *,
    signal: str | None = None,
    strategy: str = "wave_renko",
    symbol: str = "SPY",
    qty: int = 10,
    price: float = 500.0,
    stop: float | None = 495.0,
    target: float | None = 510.0,
    side: OrderSide = OrderSide.BUY,
    instrument: Instrument = Instrument.EQUITY,
    fees: float = 0.0,
    **extra: Any,
) -> OrderIntent:
    """An equity entry risking qty x |price - stop| (10 x $5 = $50 by default)."""
    sid = signal or signal_ref()
    return OrderIntent(
        client_order_id=client_order_id(sid, OrderPurpose.ENTRY),
        signal_id=sid,
        strategy=strategy,
        symbol=symbol,
        underlying=extra.pop("underlying", symbol if instrument is Instrument.EQUITY else "SPY"),
        side=side,
        purpose=OrderPurpose.ENTRY,
        instrument=instrument,
        qty=qty,
        est_price=price,
        stop=stop,
        target=target,
        fees=fees,
        **extra,
    )


def option_entry(
    *,
    premium: float = 2.0,
    contracts: int = 1,
    stop: float | None = None,
    target: float | None = None,
    **kw: Any,
) -> OrderIntent:
    """A long call: max loss = premium x 100 x contracts + fees. ``stop``/``target`` are
    underlying levels (give ``underlying_price`` too for the engine to compute reward/risk)."""
    return entry(
        symbol="SPY240603C00500000",
        instrument=Instrument.OPTION,
        qty=contracts,
        price=premium,
        stop=stop,
        target=target,
        **kw,
    )


def exit_of(intent: OrderIntent) -> OrderIntent:
    return intent.model_copy(
        update={
            "client_order_id": client_order_id(intent.signal_id, OrderPurpose.EXIT),
            "purpose": OrderPurpose.EXIT,
            "side": OrderSide.SELL if intent.side is OrderSide.BUY else OrderSide.BUY,
        }
    )


def market(
    *,
    regime: Regime = Regime.NORMAL_VOL,
    equity: float = EQUITY,
    start_of_day_equity: float | None = None,
    last_price: float | None = 500.0,
    reward_risk: float | None = 2.0,
    account: AccountFlags | None = None,
    buying_power: float | None = None,
) -> MarketContext:
    return MarketContext(
        regime=regime,
        equity=equity,
        start_of_day_equity=start_of_day_equity or equity,
        last_price=last_price,
        reward_risk=reward_risk,
        account=account or AccountFlags(),
        buying_power=4 * equity if buying_power is None else buying_power,
    )


def fill_of(
    intent: OrderIntent,
    clock: Clock,
    *,
    price: float | None = None,
    qty: int | None = None,
    fee: float = 0.0,
    fill_id: str | None = None,
) -> Fill:
    return Fill(
        fill_id=fill_id or f"fill-{next(_IDS)}",
        client_order_id=intent.client_order_id,
        symbol=intent.symbol,
        side=intent.side,
        qty=qty or intent.qty,
        price=price or intent.est_price,
        fee=fee,
        ts=clock.now(),
    )


def reservation_for(
    intent: OrderIntent,
    now: datetime,
    *,
    max_slots: int = 100,
    max_day_entries: int = 100,
    max_strategy_entries: int = 100,
    exposure_cap: float = 1e9,
    cutoff_seconds: float = 0.0,
) -> Reservation:
    """A reservation as the engine would write it, with generous guards unless told otherwise."""
    keys = SnapshotKeys(
        day=trading_date(now),
        week=iso_week(now),
        month=month_key(now),
        strategy=intent.strategy,
        signal_id=intent.signal_id,
    )
    ticket = Ticket.reserved(intent, max_loss(intent) or 0.0, now)
    guards = ReservationGuards(
        now=now,
        max_slots=max_slots,
        exposure_cap=exposure_cap,
        last_entry_cutoff=now - timedelta(seconds=cutoff_seconds),
        max_day_entries=max_day_entries,
        max_strategy_entries=max_strategy_entries,
    )
    return Reservation(ticket=ticket, keys=keys, guards=guards, audit=())
