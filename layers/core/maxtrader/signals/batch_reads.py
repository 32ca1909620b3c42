"""One session read for a bars-queue batch, shared by its records.

    reads = BatchReads.planned(sessions, calendar, symbols, records)  the SQS event's Records
    reads.read(day, symbols) -> SessionSnapshot                       what ``process_bars`` reads

A batch holds a few records, usually one bar per traded symbol, and each record is processed on
its own (a failure fails only its symbol's group). Their first reads need not be one request
each: one read of every (day, symbol) the batch's bars belong to, made when the first record
needs it, serves each symbol's first record. A symbol's later record in the same batch reads
again (its states have moved since). Using a read made a few milliseconds earlier only widens
the read-to-save window, which the conditional save already covers (a concurrent delivery that
saved in between makes this save lose, exactly as it would have anyway).

If the shared read fails, each record reads its own, so one unreadable item fails only its
symbol's records. A record that is not a bar message plans nothing (it fails on its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.errors import MaxTraderError
from maxtrader.domain.ports import SessionSnapshot, SessionStore
from maxtrader.ingest.messages import decode_bar_message


class BatchReads:
    def __init__(self, sessions: SessionStore, plan: dict[date, frozenset[str]]) -> None:
        self._sessions = sessions
        self._plan = plan  # day -> the symbols whose first read the shared read serves
        self._shared: dict[date, SessionSnapshot | None] = {}  # None: the shared read failed

    @classmethod
    def planned(
        cls,
        sessions: SessionStore,
        calendar: MarketCalendar,
        traded: frozenset[str],
        records: object,
    ) -> BatchReads:
        plan: dict[date, set[str]] = {}
        for record in records if isinstance(records, list) else ():
            body = record.get("body") if isinstance(record, dict) else None
            if not isinstance(body, str | bytes):
                continue
            try:
                bar = decode_bar_message(body)
            except MaxTraderError:
                continue
            session = calendar.session_at(bar.ts)
            if session is not None and bar.symbol in traded:
                plan.setdefault(session.day, set()).add(bar.symbol)
        return cls(sessions, {day: frozenset(symbols) for day, symbols in plan.items()})

    def read(self, day: date, symbols: Iterable[str]) -> SessionSnapshot:
        wanted = frozenset(symbols)
        unused = self._plan.get(day, frozenset())
        if wanted and wanted <= unused:
            if day not in self._shared:
                try:
                    self._shared[day] = self._sessions.read_session(day, unused)
                except MaxTraderError:
                    self._shared[day] = None  # each record reads its own below
            shared = self._shared[day]
            if shared is not None:
                self._plan[day] = unused - wanted  # their next read must see their saves
                return shared
        return self._sessions.read_session(day, wanted)


__all__ = ["BatchReads"]
