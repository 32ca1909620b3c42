"""Compile the XNYS session table shipped in the package from exchange_calendars.

    python -m maxtrader.data.compile_calendar            # rewrite domain/xnys_sessions.py
    python -m maxtrader.data.compile_calendar --check    # exit 1 if the shipped table's
                                                         # sessions differ from the source's

Run it after upgrading exchange_calendars (a new closure is added there first) and before the
table's range nears its end (the tests fail a year ahead). The table is verified before it is
written: decoding it must give back exactly the sessions exchange_calendars gave.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.xnys_table import SessionTable, SessionTimes, encode

TABLE_PATH = Path(__file__).resolve().parents[1] / "domain" / "xnys_sessions.py"
GENERATOR = "python -m maxtrader.data.compile_calendar"
# Backtests reach back to the oldest shared data (daily VIX from 1990); the end is moved
# forward by regenerating, well before the live system gets within a year of it.
FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2036, 12, 31)
# The live system must never get within this of the table's end (it would fall back to
# exchange_calendars, correct but ~1 s slower to start).
MIN_HEADROOM = timedelta(days=365)


def source_sessions(first: date, last: date) -> list[SessionTimes]:
    """The sessions exchange_calendars gives for [first, last]."""
    calendar = MarketCalendar.from_exchange_calendars(first, last)
    return [(s.day, s.open, s.close) for s in calendar.sessions_between(first, last)]


def compile_table(first: date = FIRST_DAY, last: date = LAST_DAY) -> str:
    """The table module's source, verified to decode to exactly exchange_calendars' sessions."""
    found = source_sessions(first, last)
    text = encode(
        found,
        first,
        last,
        source=f"exchange_calendars {version('exchange_calendars')}",
        generator=GENERATOR,
    )
    decoded = table_from_source(text).sessions(first, last)
    if decoded != found:
        wrong = next((a, b) for a, b in zip(decoded, found, strict=False) if a != b)
        raise RuntimeError(f"the encoded table does not decode to its sessions: {wrong}")
    return text


def table_from_source(text: str) -> SessionTable:
    """The ``TABLE`` a generated module's source defines."""
    namespace: dict[str, object] = {}
    exec(compile(text, str(TABLE_PATH), "exec"), namespace)  # noqa: S102 - our own output
    table = namespace["TABLE"]
    if not isinstance(table, SessionTable):
        raise TypeError(f"TABLE is a {type(table).__name__}, not a SessionTable")
    return table


def stale_days(
    table: SessionTable, first: date | None = None, last: date | None = None
) -> list[str]:
    """How ``table`` differs from exchange_calendars over [first, last] (default: the table's
    own range); empty when it is current."""
    first, last = first or table.range[0], last or table.range[1]
    if not table.covers(first, last):
        lo, hi = table.range
        return [f"the table covers {lo} .. {hi}, not {first} .. {last}"]
    shipped = {day: (o, c) for day, o, c in table.sessions(first, last)}
    source = {day: (o, c) for day, o, c in source_sessions(first, last)}
    return [
        f"{day}: table {_show(shipped.get(day))}, exchange_calendars {_show(source.get(day))}"
        for day in sorted(shipped.keys() | source.keys())
        if shipped.get(day) != source.get(day)
    ]


def headroom_problem(table: SessionTable, checked_on: date) -> str | None:
    """Why ``table`` must be regenerated before ``checked_on``'s year is out, or None."""
    first, last = table.range
    if checked_on < first:
        return f"{checked_on} is before the table's first day {first}"
    if last - checked_on < MIN_HEADROOM:
        return (
            f"the table ends on {last}, within {MIN_HEADROOM.days} days of {checked_on}: "
            f"extend LAST_DAY and run {GENERATOR}"
        )
    return None


def _show(times: tuple[datetime, datetime] | None) -> str:
    return "closed" if times is None else f"{times[0].isoformat()} .. {times[1].isoformat()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    parser.add_argument(
        "--checked-on",
        type=date.fromisoformat,
        default=None,
        help="with --check: also fail if the table ends within a year of this date (CI: today)",
    )
    args = parser.parse_args(argv)
    if args.check:
        from maxtrader.domain.xnys_sessions import TABLE  # noqa: PLC0415 - may not exist yet

        stale = stale_days(TABLE, FIRST_DAY, LAST_DAY)
        if args.checked_on is not None and (problem := headroom_problem(TABLE, args.checked_on)):
            stale.insert(0, problem)
        for line in stale[:20]:
            print(line, file=sys.stderr)
        if stale:
            print(f"{TABLE_PATH} is stale: run {GENERATOR}", file=sys.stderr)
            return 1
        print(f"{TABLE_PATH} is current ({TABLE.source})")
        return 0
    text = compile_table()
    if not TABLE_PATH.is_file() or TABLE_PATH.read_text(encoding="utf-8") != text:
        TABLE_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE_PATH} ({FIRST_DAY} .. {LAST_DAY})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
