"""``maxtrader backtest``: replay bar files through the strategies and the safety layer.

    maxtrader backtest --data FILE... [--tz ZONE] [--vix FILE] [--symbols SPY,QQQ]
        (--vix: a daily close file, or intraday VIX bars for a regime updated bar by bar)
        [--start D] [--end D] [--config-dir DIR] [--set key=value ...] [--json OUT]
        [--report OUT.html] [--walk-forward TRAIN:TEST --grid key=v1,v2 ... [--objective pnl]]

Exit 0 on success, 2 on bad input (unknown/invalid --set key or value, unreadable data or config,
bad dates), with one line per problem naming it. Wall-clock time is measured here, never in the
core. A progress bar is drawn only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maxtrader.domain.errors import CalendarError, ConfigError, DataError

if TYPE_CHECKING:
    from collections.abc import Callable

    from maxtrader.backtest.results import BacktestResult
    from maxtrader.backtest.settings import RunConfig
    from maxtrader.domain.models import Bar
    from maxtrader.domain.ports import VixReading

EXIT_INVALID = 2


class UsageError(Exception):
    """Bad command-line input: printed as is, exit 2."""


def register(commands: Any) -> None:
    p = commands.add_parser(
        "backtest",
        help="replay bar files through the strategies and the safety layer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", nargs="+", required=True, type=Path, metavar="FILE")
    p.add_argument("--tz", default=None, help="zone of naive timestamps, e.g. US/Pacific")
    p.add_argument(
        "--vix",
        type=Path,
        default=None,
        help="daily VIX (CBOE VIX_History.csv): the regime from the prior session's close; or "
        "intraday VIX bars (1 or 5 minutes): the regime updated every 5 minutes, as live",
    )
    p.add_argument("--symbols", default=None, help="comma-separated subset, e.g. SPY,QQQ")
    p.add_argument("--start", default=None, help="first session, YYYY-MM-DD")
    p.add_argument("--end", default=None, help="last session, YYYY-MM-DD")
    p.add_argument("--config-dir", type=Path, default=None, help="default: configs/")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted key (safety.*, strategies.*, backtest.*)",
    )
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.add_argument("--report", type=Path, default=None, metavar="OUT.html")
    p.add_argument("--walk-forward", default=None, metavar="TRAIN:TEST")
    p.add_argument("--grid", nargs="+", action="extend", default=[], metavar="KEY=V1,V2")
    p.add_argument(
        "--objective",
        default="pnl",
        choices=["pnl", "sharpe", "profit_factor", "avg_r"],
        help="what walk-forward maximises on each training window (default pnl)",
    )
    p.set_defaults(handler=backtest_command)


def backtest_command(args: argparse.Namespace) -> int:
    # The engine (strategies, safety, pydantic models) loads only when a backtest runs, so
    # other subcommands keep their cold start.
    from maxtrader.backtest.report import render_html  # noqa: PLC0415
    from maxtrader.backtest.settings import OverrideError  # noqa: PLC0415

    started = time.perf_counter()
    try:
        result = _run(args)
    except (UsageError, OverrideError, DataError, CalendarError) as exc:
        print(f"maxtrader backtest: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_INVALID
    result = result.model_copy(update={"elapsed_s": round(time.perf_counter() - started, 3)})
    if args.json is not None:
        args.json.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if args.report is not None:
        args.report.write_text(render_html(result), encoding="utf-8")
    print(summary_table(result))
    for path in (args.json, args.report):
        if path is not None:
            print(f"wrote {path}")
    return 0


def _parse_day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected a date YYYY-MM-DD") from None


def _run(args: argparse.Namespace) -> BacktestResult:
    from maxtrader.backtest.engine import Backtester, session_days  # noqa: PLC0415
    from maxtrader.backtest.settings import (  # noqa: PLC0415
        BacktestSettings,
        RunConfig,
        apply_overrides,
    )
    from maxtrader.backtest.walkforward import (  # noqa: PLC0415
        parse_grid,
        parse_walk_forward,
        walk_forward,
    )
    from maxtrader.config.loader import (  # noqa: PLC0415
        default_config_dir,
        load_safety,
        load_strategies,
    )
    from maxtrader.domain.calendar import MarketCalendar  # noqa: PLC0415

    start, end = _parse_day(args.start, "--start"), _parse_day(args.end, "--end")
    if start and end and start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    if args.grid and not args.walk_forward:
        raise UsageError("--grid needs --walk-forward TRAIN:TEST")
    wf = parse_walk_forward(args.walk_forward) if args.walk_forward else None
    grid = parse_grid(args.grid) if args.grid else []
    if wf and not grid:
        raise UsageError("--walk-forward needs at least one --grid key=v1,v2")
    config_dir = args.config_dir or default_config_dir()
    base = RunConfig(load_safety(config_dir), load_strategies(config_dir), BacktestSettings())
    config = apply_overrides(base, args.overrides)
    for key, values in grid:  # a bad grid value fails now, before any data is read
        for value in values:
            apply_overrides(config, [(key, value)])

    bars = _load_bars(args.data, args.tz, args.symbols)
    vix: dict[date, float] = {}
    vix_intraday: list[VixReading] | None = None
    if args.vix is not None:
        vix, vix_intraday = load_vix_for_backtest(args.vix, args.tz)
    else:
        print("no --vix: every regime is UNKNOWN and nothing is traded", file=sys.stderr)
    calendar = MarketCalendar.xnys()

    def replay(cfg: RunConfig) -> BacktestResult:
        return Backtester(cfg, calendar).run(
            bars,
            vix,
            vix_intraday=vix_intraday,
            start=start,
            end=end,
            progress=_progress_bar() if sys.stderr.isatty() else None,
        )

    if wf is None:
        return replay(config)
    days = session_days(bars, calendar, start=start, end=end)
    return walk_forward(
        config,
        grid,
        days,
        train=wf[0],
        test=wf[1],
        run=replay,
        objective=args.objective,
    )


def load_vix_for_backtest(
    path: Path, tz: str | None
) -> tuple[dict[date, float], list[VixReading] | None]:
    """``--vix``: (daily closes, None) for a daily file, ({}, readings) for an intraday one.

    The file's kind and the intraday loader are ``data.vix.vix_file_kind`` and
    ``data.vix.load_vix_intraday`` (the hot-path work of issue 8); until they are present every
    file loads as daily, as before (a bar file then gives its daily closes)."""
    from maxtrader.data import vix as vix_data  # noqa: PLC0415 - pandas-free, lazy anyway

    kind_of: Callable[[Path], str] | None = getattr(vix_data, "vix_file_kind", None)
    if kind_of is None or kind_of(path) == "daily":
        return vix_data.load_vix_daily(path), None
    load_intraday: Callable[..., list[VixReading]] | None = getattr(
        vix_data, "load_vix_intraday", None
    )
    if load_intraday is None:
        raise UsageError(f"--vix {path}: an intraday VIX file, and no intraday loader is installed")
    return {}, list(load_intraday(path, tz=tz))


def _load_bars(paths: Sequence[Path], tz: str | None, symbols: str | None) -> dict[str, list[Bar]]:
    from maxtrader.data import load_bars  # noqa: PLC0415 - pandas: only when data is read

    merged: dict[str, list[Bar]] = {}
    for path in paths:
        loaded = load_bars(path, tz=tz)
        if loaded.report.minutes != 1:
            raise UsageError(
                f"{path}: {loaded.report.minutes}-minute bars; the strategies step on 1-minute bars"
            )
        for line in loaded.warnings:
            print(f"warning: {line}", file=sys.stderr)
        for sym, bars in loaded.bars.items():
            merged.setdefault(sym, []).extend(bars)
    for sym, bars in merged.items():
        unique = {b.ts: b for b in bars}  # a bar in two files: the later file's wins
        merged[sym] = [unique[t] for t in sorted(unique)]
    if symbols:
        wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()]
        missing = [s for s in wanted if s not in merged]
        if missing:
            raise UsageError(
                f"--symbols {','.join(missing)}: not in the data (have {','.join(sorted(merged))})"
            )
        merged = {s: merged[s] for s in wanted}
    if not merged:
        raise UsageError("the data files hold no regular-hours bars")
    return merged


def _progress_bar() -> Any:
    width = 32

    def draw(done: int, total: int) -> None:
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r  [{'█' * filled}{'·' * (width - filled)}] {done}/{total} sessions")
        if done == total:
            sys.stderr.write("\r" + " " * (width + 30) + "\r")
        sys.stderr.flush()

    return draw


def summary_table(result: BacktestResult) -> str:
    m = result.metrics
    lines = [
        f"{result.label}: {result.start} .. {result.end}, {m.sessions} sessions, "
        f"{result.bars:,} bars in {result.elapsed_s:.1f}s",
        "",
        f"{'':22}{'trades':>7}{'win':>7}{'PF':>7}{'P&L':>11}{'maxDD':>9}{'Sharpe':>8}"
        f"{'/month':>8}{'avgR':>7}",
    ]

    def row(name: str, x: Any) -> str:
        xpf = "-" if x.profit_factor is None else f"{x.profit_factor:.2f}"
        xs = "-" if x.sharpe is None else f"{x.sharpe:.2f}"
        return (
            f"{name[:22]:22}{x.trades:>7}{x.win_rate:>7.0%}{xpf:>7}{x.pnl:>11,.0f}"
            f"{x.max_drawdown:>9,.0f}{xs:>8}{x.trades_per_month:>8.1f}{x.avg_r:>7.2f}"
        )

    lines.append(row("ALL", m))
    for name, x in result.by_regime.items():
        lines.append(row(f"  {name}", x))
    for name, x in result.by_strategy.items():
        lines.append(row(f"  [{name}]", x))
    rej = ", ".join(f"{k} {v}" for k, v in result.rejections.items()) or "none"
    trips = ", ".join(f"{k} x{v}" for k, v in result.breaker_trips.items()) or "none"
    lines += ["", f"rejections: {rej}", f"breaker trips: {trips}"]
    return "\n".join(lines)
