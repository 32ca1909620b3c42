"""``maxtrader simulate``: one trading day end to end on a local AWS, broker and market feed.

    maxtrader simulate [--data FILE...] [--tz ZONE] [--vix FILE] [--date YYYY-MM-DD]
        [--faults LIST|all] [--json OUT] [--report OUT.html]

moto (server mode, 127.0.0.1) gets the stack's tables, queues, topic and secrets from the
synthesized CDK template; the Alpaca and Massive emulators run beside it; the real handlers are
invoked in process in New York time order (schedules, a signed ingest push per minute bar, the
queue messages carried on as Lambda would). Without --data the day is a deterministic SYNTHETIC
session (maxtrader/simulate/synthetic.py); with --data, real 1-minute bars (--date picks the day,
default the last session in the files; --vix a daily VIX file, its prior close fed as the day's
flat intraday VIX, which is what the backtester assumes; a stage symbol the files have no bar
of is not traded that day). --faults runs fault drills (broker-timeouts, broker-5xx,
duplicate-pushes, late-pushes, store-throttling, kill-switch-midday, loss-streak,
reconciliation-drift, or all) and checks each outcome.

Needs a checkout (functions/, infra/) and the ``demo`` extra (moto server, the CDK libraries):
``make demo`` installs both. Exit 0 when the day ran (drill outcomes are in the summary), 1 when
a drill failed or positions were left open, 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maxtrader.domain.errors import CalendarError, ConfigError, DataError, InvalidInputError

if TYPE_CHECKING:
    from maxtrader.simulate.results import SimulationResult
    from maxtrader.simulate.runner import DayInput

EXIT_FAILED, EXIT_INVALID = 1, 2


def register(commands: Any) -> None:
    p = commands.add_parser(
        "simulate",
        help="a trading day end to end on local AWS, broker and market emulators",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", nargs="+", type=Path, default=None, metavar="FILE")
    p.add_argument("--tz", default=None, help="zone of naive timestamps, e.g. US/Pacific")
    p.add_argument("--vix", type=Path, default=None, help="daily or intraday VIX file")
    p.add_argument("--date", default=None, help="the session to replay, YYYY-MM-DD")
    p.add_argument("--faults", default=None, metavar="LIST", help="comma-separated drills, or all")
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.add_argument("--report", type=Path, default=None, metavar="OUT.html")
    p.add_argument("--stage", default="staging", help=argparse.SUPPRESS)
    p.set_defaults(handler=simulate_command)


def simulate_command(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from maxtrader.simulate.drills import parse_drills  # noqa: PLC0415
    from maxtrader.simulate.moto_server import MotoUnavailableError  # noqa: PLC0415
    from maxtrader.simulate.report import render_simulation_html  # noqa: PLC0415
    from maxtrader.simulate.runner import Simulation  # noqa: PLC0415

    try:
        day = _day_input(args)
        with stage_for_symbols(args.stage, _traded_that_day(day)) as cfg:
            simulation = Simulation(
                day,
                repo=repo_root(),
                drills=parse_drills(args.faults),
                stage=args.stage,
                config_dir=cfg,
            )
            result = simulation.run()
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_INVALID
    except (DataError, CalendarError, InvalidInputError, MotoUnavailableError) as exc:
        print(f"maxtrader simulate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(summary_text(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    if args.report is not None:
        args.report.write_text(render_simulation_html(result), encoding="utf-8")
        print(f"wrote {args.report}")
    failed = [k for k, v in result.faults.items() if v != "ok" and not v.startswith("not deployed")]
    return EXIT_FAILED if failed or result.summary.positions_open_at_end else 0


def repo_root() -> Path:
    """The checkout this package runs from (functions/ and infra/ beside layers/)."""
    import maxtrader  # noqa: PLC0415

    root = Path(maxtrader.__file__).resolve().parents[3]
    if not (root / "functions").is_dir() or not (root / "infra").is_dir():
        raise InvalidInputError(f"{root} is not a MaxTrader checkout (functions/, infra/)")
    return root


@contextlib.contextmanager
def stage_for_symbols(stage: str, symbols: Sequence[str]) -> Iterator[Path | None]:
    """The config directory a day of ``symbols`` runs with: the stage's own (None) when the
    data covers its symbols, else a copy whose stage trades the data's symbols only (a real
    file of SPY alone would otherwise leave QQQ without a bar all day: health's data
    freshness fails and safe mode holds every entry, which no deployment trading SPY sees)."""
    import yaml  # noqa: PLC0415

    from maxtrader.config.loader import default_config_dir, load_stage  # noqa: PLC0415

    traded = list(load_stage(stage).symbols)
    kept = [s for s in traded if s in symbols]
    if not kept:
        raise InvalidInputError(
            f"the data has no bars of the stage's symbols {traded} (it has {list(symbols)})"
        )
    if kept == traded:
        yield None
        return
    print(
        f"the data has no bars of {[s for s in traded if s not in kept]}: "
        f"the {stage} stage trades {kept} only in this simulation",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="maxtrader-simulate-config-") as tmp:
        config_dir = Path(tmp) / "configs"
        shutil.copytree(default_config_dir(), config_dir)
        stage_file = config_dir / "stages" / f"{stage}.yaml"
        data = yaml.safe_load(stage_file.read_text(encoding="utf-8"))
        data["symbols"] = kept
        stage_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield config_dir


def _traded_that_day(day: DayInput) -> list[str]:
    from maxtrader.domain.clock import NEW_YORK  # noqa: PLC0415

    return sorted(
        s
        for s, bars in day.bars.items()
        if any(b.ts.astimezone(NEW_YORK).date() == day.day for b in bars)
    )


def _day_input(args: argparse.Namespace) -> DayInput:
    from maxtrader.simulate.runner import DayInput  # noqa: PLC0415
    from maxtrader.simulate.synthetic import DEFAULT_DAY, synthetic_session  # noqa: PLC0415

    chosen = _parse_day(args.date)
    if args.data is None:
        if args.vix is not None or args.tz is not None:
            raise InvalidInputError("--vix and --tz apply to --data files only")
        s = synthetic_session(chosen or DEFAULT_DAY)
        return DayInput(s.day, s.bars, s.vix_daily, s.vix_minutes, f"synthetic, seed {s.seed}")
    return _real_day(args, chosen)


def _real_day(args: argparse.Namespace, chosen: date | None) -> DayInput:
    from maxtrader.cli.backtest_cmd import _load_bars, load_vix_for_backtest  # noqa: PLC0415
    from maxtrader.domain.calendar import MarketCalendar  # noqa: PLC0415
    from maxtrader.domain.clock import NEW_YORK  # noqa: PLC0415
    from maxtrader.simulate.market import constant_vix_minutes  # noqa: PLC0415
    from maxtrader.simulate.runner import DayInput  # noqa: PLC0415

    bars = _load_bars(args.data, args.tz, None)
    days = sorted({b.ts.astimezone(NEW_YORK).date() for v in bars.values() for b in v})
    day = chosen or days[-1]
    if day not in days:
        raise InvalidInputError(f"--date {day}: not in the data ({days[0]} .. {days[-1]})")
    session = MarketCalendar.xnys().session(day)
    if session is None:
        raise InvalidInputError(f"--date {day}: not an XNYS session")
    history = set(days[max(0, days.index(day) - 5) : days.index(day) + 1])
    bars = {
        s: [b for b in v if b.ts.astimezone(NEW_YORK).date() in history] for s, v in bars.items()
    }
    vix_daily: dict[date, float] = {}
    vix_minutes = []
    if args.vix is not None:
        vix_daily, intraday = load_vix_for_backtest(args.vix, args.tz)
        if intraday is not None:
            raise InvalidInputError("--vix: an intraday VIX file is not supported here yet")
        prior = [d for d in vix_daily if d < day]
        if prior:
            minutes = int((session.close - session.open).total_seconds() // 60)
            vix_minutes = constant_vix_minutes(session.open, minutes, vix_daily[max(prior)])
    else:
        print("no --vix: the regime is UNKNOWN and nothing is traded", file=sys.stderr)
    names = ", ".join(str(p) for p in args.data)
    return DayInput(day, bars, vix_daily, vix_minutes, names)


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"--date {text!r}: expected YYYY-MM-DD") from None


def summary_text(result: SimulationResult) -> str:
    s = result.summary
    regimes = ", ".join(f"{r.get('regime', r.get('subject'))}" for r in s.regime) or "none recorded"
    rejections = ", ".join(f"{k} {v}" for k, v in s.rejections.items()) or "none"
    trips = (
        ", ".join(f"{e['breaker']} {e['event'].removeprefix('breaker_')}" for e in s.breaker_events)
        or "none"
    )
    lines = [
        "",
        f"{result.day} ({result.source}): {result.steps} steps in {result.elapsed_s:.1f}s",
        f"functions: {', '.join(result.deployed)}; not deployed: "
        f"{', '.join(result.not_deployed) or 'none'}",
        f"regime: {regimes}",
        f"signals: {s.signals}   verdicts approved (entries and exits): {s.approvals}   rejected: "
        f"{sum(s.rejections.values())} ({rejections})   not sent: {s.not_sent}",
        f"orders: {len(s.orders)}   filled: {s.filled_orders}   fills booked: {s.fills}   "
        f"realized P&L: {s.realized_pnl:+,.2f}   equity change: {s.equity_change:+,.2f}",
        f"breakers: {trips}",
        f"alerts: {len(s.alerts)}" + "".join(f"\n  - {a}" for a in s.alerts[:12]),
        f"positions open at end: {s.positions_open_at_end}"
        + (f" {s.positions}" if s.positions else ""),
        f"reconciliation: {'ok' if s.reconciliation.get('ok') else 'DIFFERS'}"
        + ("" if s.reconciliation.get("ok") else f" {s.reconciliation.get('differences')}"),
        f"queues at end: {result.queue_depth}",
        f"parity: {result.parity.status}",
    ]
    if result.faults:
        lines.append("drills:")
        lines += [f"  {name:<22} {outcome}" for name, outcome in result.faults.items()]
    errors = {k: v for k, v in result.invocations.items() if v.get("errors")}
    for name, tally in errors.items():
        lines.append(f"{name}: {tally['failed']} failed; first: {tally['errors'][0]}")
    return "\n".join(lines)
