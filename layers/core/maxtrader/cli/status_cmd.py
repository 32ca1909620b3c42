"""``maxtrader status``: what the system is doing, read straight from the state table.

    maxtrader status --stage production [--table NAME] [--region R] [--date 2024-06-03]

Prints the regime, the trading state (kill switch, safe mode), the breakers, the limits used
today against the regime's limits, the realized and unrealized P&L and the open positions. It
reads DynamoDB directly with your AWS credentials, so it works when the functions do not.
Exit 2 with one line when the table cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any

from maxtrader.domain.clock import NEW_YORK, iso_week, month_key
from maxtrader.domain.errors import ConfigError, MaxTraderError
from maxtrader.domain.models import Regime
from maxtrader.domain.safety.state import BreakerName, SwitchName, SwitchState

EXIT_USAGE = 2


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "status",
        help="regime, trading state, limits, P&L, positions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("--stage", required=True, help="staging or production")
    cmd.add_argument("--table", help="the state table (default: the stage's)")
    cmd.add_argument("--region", help="AWS region (default: the stage's)")
    cmd.add_argument("--date", type=date.fromisoformat, help="New York trading date (today)")
    cmd.set_defaults(handler=status_command)


def status_command(args: argparse.Namespace) -> int:
    from maxtrader.config.loader import load_safety, load_stage  # noqa: PLC0415

    try:
        stage = load_stage(args.stage)
        table = args.table or stage.resources.state_table
        lines = report(table, args.region or stage.aws.region, load_safety(), args.date)
    except ConfigError as exc:
        print(f"maxtrader status: {exc.problems[0]}", file=sys.stderr)
        return EXIT_USAGE
    except MaxTraderError as exc:
        print(f"maxtrader status: table {args.table or '(stage)'}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(lines))
    return 0


def report(table: str, region: str, safety: Any, day: date | None) -> list[str]:
    from maxtrader.adapters.dynamodb_session_store import DynamoDBSessionStore  # noqa: PLC0415
    from maxtrader.adapters.dynamodb_store import DynamoDBStateStore  # noqa: PLC0415

    now = datetime.now(UTC)
    day = day or now.astimezone(NEW_YORK).date()
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=NEW_YORK)  # the day's period keys
    store = DynamoDBStateStore.create(table, region=region)
    regime_state = DynamoDBSessionStore.create(table, region=region).regime(day)
    regime = regime_state.regime if regime_state else Regime.UNKNOWN
    limits = safety.limits_for(regime)
    kill, safe = store.switch(SwitchName.KILL_SWITCH), store.switch(SwitchName.SAFE_MODE)
    state = "HALTED" if kill.on else "REDUCING (exits only)" if safe.on else "ACTIVE"
    portfolio = store.portfolio()
    equity = portfolio.equity
    reading = f"VIX {regime_state.vix}, {regime_state.reason}" if regime_state else "no reading"
    lines = [
        f"table {table}, {day.isoformat()} (New York)",
        f"regime:         {regime.value} ({reading})",
        f"trading state:  {state}",
        f"kill switch:    {_switch(kill)}",
        f"safe mode:      {_switch(safe)}",
        "breakers:",
    ]
    for name in BreakerName:
        b = store.breaker(name)
        paused = (
            f"PAUSED until {b.until.isoformat()} ({b.reason})"
            if b.until and b.paused(now)
            else "ok"
        )
        lines.append(f"  {name.value:<12}  {paused}")
    exposure_cap = limits.max_exposure_pct * equity if equity else None
    lines += [
        "limits used today:",
        f"  trades        {store.day_entries(day.isoformat())} / {limits.max_daily_trades}",
        f"  positions     {portfolio.slots} / {limits.max_concurrent_positions}",
        f"  exposure      {portfolio.exposure:.2f}"
        + (f" / {exposure_cap:.2f}" if exposure_cap else " (equity unknown)"),
        "P&L:",
        f"  realized      day {store.realized(day.isoformat()):.2f}  "
        f"week {store.realized(iso_week(noon)):.2f}  month {store.realized(month_key(noon)):.2f}",
        f"  unrealized    {portfolio.unrealized:.2f}"
        + (f"  (equity {equity:.2f}, peak {portfolio.peak_equity or 0:.2f})" if equity else ""),
        "open positions:",
    ]
    tickets = store.open_tickets()
    lines += [
        f"  {t.symbol:<22} {t.direction.value:<5} qty {t.qty:<5} avg {t.avg_price:.2f}  "
        f"{t.status.value}  {t.strategy}  {t.client_order_id}"
        for t in tickets
    ] or ["  (none)"]
    return lines


def _switch(state: SwitchState) -> str:
    if not state.on:
        return "off"
    when = state.changed_at.isoformat() if state.changed_at else "?"
    who = "health check" if state.automatic else state.actor
    return f"ON since {when} by {who}: {state.reason}"
