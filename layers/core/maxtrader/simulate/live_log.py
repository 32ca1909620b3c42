"""The compact live log of a simulated day: one line per thing worth seeing, New York time.

    09:45:01 regime   ULTRA_LOW_VOL (VIX 11.6)
    11:56:01 signal   vwap_reversion SPY long @ 527.90 (stop 526.80, target 529.40)
    11:56:01 verdict  REJECTED SPY-..: min_seconds_between_trades
    11:57:00 fill     buy 5 SPY240612C00528000 @ 1.02
    12:00:00 alert    [MaxTrader] kill switch engaged

Lines come from the audit records as the store receives them and from the alerts the topic
delivers (never from a handler's answer). A progress bar is drawn on stderr only when it is a
terminal, and erased before any line is printed over it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import AuditKind, AuditRecord

_SHOWN = {
    AuditKind.REGIME,
    AuditKind.SIGNAL,
    AuditKind.VERDICT,
    AuditKind.FILL,
    AuditKind.BREAKER_TRIP,
    AuditKind.BREAKER_RESET,
    AuditKind.KILL_SWITCH,
    AuditKind.SAFE_MODE,
    AuditKind.RECONCILIATION,
    AuditKind.NOT_SENT,
    AuditKind.RISK_BREACH,
}
_WIDTH = 32
_LABELS = {AuditKind.KILL_SWITCH: "killsw", AuditKind.SAFE_MODE: "safemode",
           AuditKind.BREAKER_TRIP: "breaker", AuditKind.BREAKER_RESET: "breaker",
           AuditKind.RECONCILIATION: "recon", AuditKind.RISK_BREACH: "breach",
           AuditKind.NOT_SENT: "not sent"}  # fmt: skip


def ny(ts: datetime) -> str:
    return ts.astimezone(NEW_YORK).strftime("%H:%M:%S")


def regime_state(detail: dict[str, Any]) -> dict[str, Any]:
    """A REGIME record's state: the functions record ``{"after": state, ...}``, the parity
    helper the state itself."""
    after = detail.get("after")
    return after if isinstance(after, dict) else detail


def describe(record: AuditRecord) -> str:
    d = record.detail
    kind = record.kind
    if kind is AuditKind.REGIME:
        state = regime_state(d)
        return f"{state.get('regime', '?')} (VIX {state.get('vix', '?')})"
    if kind is AuditKind.SIGNAL:
        return (
            f"{d.get('strategy', '')} {d.get('symbol', '')} {d.get('side', '')} "
            f"@ {d.get('entry', '?')} (stop {d.get('stop', '?')}, target {d.get('target', '?')})"
        )
    if kind is AuditKind.VERDICT:
        if d.get("approved"):
            return f"APPROVED {d.get('purpose', '')} {d.get('symbol', '')} x{d.get('qty', '?')}"
        names = [f.get("name") for f in d.get("failures") or [] if isinstance(f, dict)]  # type: ignore[union-attr]
        return f"REJECTED {d.get('symbol', '')}: {', '.join(str(n) for n in names) or '?'}"
    if kind is AuditKind.FILL and record.subject.startswith("losing_close:"):
        # The breaker's marker stored with a closing fill (domain/safety/fills.py).
        ticket = record.subject.removeprefix("losing_close:")
        return f"losing close {ticket} (realized {d.get('realized', '?')})"
    if kind is AuditKind.FILL:
        return (
            f"{d.get('side', '')} {d.get('qty', '')} {d.get('symbol', '')} @ {d.get('price', '')}"
        )
    if kind is AuditKind.BREAKER_RESET:
        return f"{record.subject} reset (was: {d.get('reason') or '?'})"
    if kind is AuditKind.RECONCILIATION and isinstance(d.get("drift"), list):
        drift: list[Any] = d["drift"]  # type: ignore[assignment]
        return f"drift: {len(drift)} difference(s): {str(drift)[:120]}"
    reason = d.get("reason") or d.get("cause") or ""
    return f"{record.subject} {reason}".strip()


class LiveLog:
    def __init__(self, out: TextIO | None = None, progress: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.progress = (
            progress if progress is not None else (sys.stderr if sys.stderr.isatty() else None)
        )
        self._bar_drawn = False
        self._last_reconciliation: dict[str, Any] | None = None

    def line(self, at: datetime, label: str, text: str) -> None:
        self._erase()
        print(f"{ny(at)} {label:<8} {text}", file=self.out, flush=True)

    def note(self, text: str) -> None:
        self._erase()
        print(text, file=self.out, flush=True)

    def records(self, records: Sequence[AuditRecord]) -> None:
        for record in records:
            if record.kind is AuditKind.RECONCILIATION:
                # the monitor re-records a standing drift every minute: show it when it changes
                if record.detail == self._last_reconciliation:
                    continue
                self._last_reconciliation = record.detail
            if record.kind in _SHOWN:
                label = _LABELS.get(record.kind, record.kind.value)
                self.line(record.ts, label, describe(record))

    def alerts(self, at: datetime, envelopes: Sequence[dict[str, Any]]) -> None:
        for envelope in envelopes:
            self.line(
                at, "alert", str(envelope.get("Subject") or envelope.get("Message", ""))[:100]
            )

    def tick(self, done: int, total: int, at: datetime) -> None:
        if self.progress is None or total == 0:
            return
        filled = int(_WIDTH * done / total)
        self.progress.write(f"\r  [{'█' * filled}{'·' * (_WIDTH - filled)}] {ny(at)} NY")
        self.progress.flush()
        self._bar_drawn = True

    def _erase(self) -> None:
        if self._bar_drawn and self.progress is not None:
            self.progress.write("\r" + " " * (_WIDTH + 20) + "\r")
            self.progress.flush()
            self._bar_drawn = False

    def close(self) -> None:
        self._erase()
