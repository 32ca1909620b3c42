"""``maxtrader data``: fetch bars from the vendor, and check a bar file.

    maxtrader data fetch --symbol SPY --from 2024-03-26 --to 2024-03-28 --out spy.csv
        [--timespan minute|hour|day] [--multiplier 1] [--adjusted] [--base-url URL]
    maxtrader data check FILE [--tz America/New_York] [--symbol SPY] [--all-hours]

``fetch`` reads the key from MASSIVE_API_KEY (or POLYGON_API_KEY), writes every bar the vendor
returns (extended hours included; ``load_bars`` filters to regular hours on reading) and writes
nothing when anything fails. ``check`` loads a file as a backtest would and prints the report.
Exit codes: 0 success, 1 a data error, 2 a usage error (bad dates, no key).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from maxtrader.domain.errors import DataError

EXIT_DATA = 1
EXIT_USAGE = 2
KEY_VARIABLES = ("MASSIVE_API_KEY", "POLYGON_API_KEY")
DEFAULT_BASE_URL = "https://api.massive.com"  # the adapter's default, without importing it


def register(commands: Any) -> None:
    data = commands.add_parser("data", help="market data: fetch from the vendor, check files")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    fetch = sub.add_parser("fetch", help="download aggregates into a CSV or parquet file")
    fetch.add_argument("--symbol", required=True, help='e.g. SPY, or "I:VIX" for the index')
    fetch.add_argument("--from", dest="start", required=True, type=_day, help="YYYY-MM-DD")
    fetch.add_argument("--to", dest="end", required=True, type=_day, help="YYYY-MM-DD, inclusive")
    fetch.add_argument("--out", required=True, type=Path, help=".csv, .csv.gz or .parquet")
    fetch.add_argument("--timespan", default="minute", choices=("minute", "hour", "day"))
    fetch.add_argument("--multiplier", default=1, type=int)
    fetch.add_argument("--adjusted", action="store_true", help="split-adjusted (default: raw)")
    fetch.add_argument("--base-url", default=DEFAULT_BASE_URL, help=argparse.SUPPRESS)
    fetch.set_defaults(handler=fetch_command)

    check = sub.add_parser("check", help="load a bar file and print what loading found")
    check.add_argument("file", type=Path)
    check.add_argument("--tz", default=None, help="zone of naive timestamps, e.g. US/Pacific")
    check.add_argument("--symbol", default=None)
    check.add_argument("--all-hours", action="store_true", help="keep extended-hours bars")
    check.set_defaults(handler=check_command)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def fetch_command(args: argparse.Namespace) -> int:
    key = next((os.environ[v] for v in KEY_VARIABLES if os.environ.get(v)), None)
    if key is None:
        print(
            "no API key: set MASSIVE_API_KEY (or POLYGON_API_KEY) to your Massive/Polygon key",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.start > args.end:
        print(f"--from {args.start} is after --to {args.end}", file=sys.stderr)
        return EXIT_USAGE
    from maxtrader.adapters.massive_market_data import MassiveMarketData  # noqa: PLC0415
    from maxtrader.data.export import write_bars  # noqa: PLC0415

    try:
        source = MassiveMarketData(key, base_url=args.base_url)
        bars = source.aggregates(
            args.symbol,
            args.multiplier,
            args.timespan,
            args.start,
            args.end,
            adjusted=args.adjusted,
        )
        if not bars:
            raise DataError(f"no {args.symbol} bars from {args.start} to {args.end}")
        write_bars(bars, args.out)
    except DataError as exc:
        print(f"{exc}; nothing written", file=sys.stderr)
        return EXIT_DATA
    print(
        f"wrote {len(bars)} {args.multiplier} {args.timespan} bar(s) of {args.symbol} "
        f"({bars[0].ts.isoformat()} .. {bars[-1].ts.isoformat()}) to {args.out}"
    )
    return 0


def check_command(args: argparse.Namespace) -> int:
    from maxtrader.data.bars import load_bars  # noqa: PLC0415 - pandas only when needed

    try:
        loaded = load_bars(args.file, tz=args.tz, symbol=args.symbol, rth_only=not args.all_hours)
    except DataError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_DATA
    report = loaded.report
    print(f"{report.path}: {report.rows} row(s), {report.minutes}-minute bars, time column "
          f"'{report.time_column}'")  # fmt: skip
    for symbol, bars in loaded.bars.items():
        span = f"{bars[0].ts.isoformat()} .. {bars[-1].ts.isoformat()}" if bars else "none"
        print(f"  {symbol}: {len(bars)} bar(s), {span}")
        print(f"    {report.gaps[symbol].summary()}")
    for line in loaded.warnings:
        print(f"  warning: {line}")
    return 0
