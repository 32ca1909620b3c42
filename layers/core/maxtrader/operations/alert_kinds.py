"""The alerts the scheduled operations send, built in one place so each first line fits an SMS.

An ``Alert.line`` becomes the SMS (``"<prefix>: <line>"``, 140 bytes at most) and the first line
of the email; ``details`` become the email body. A line is built most important fact first and
clipped here to ``LINE_MAX_BYTES``, so the SNS adapter never has to cut it and the facts that
matter survive on a phone. ``docs/alerts.md`` is the catalogue of every kind, these and the
ones other modules send (kill switch, monitor, CloudWatch alarms).

Dedup keys: an alert of the same key goes out once per alert cooldown (the adapters enforce
it). A key names the condition, not the moment, when a persisting condition must not page
every minute (a health failure); it names the change when each change matters (a regime
change names its day and both regimes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.models import CheckResult, Regime
from maxtrader.domain.ports import Alert

# "MaxTrader-production: " is 22 bytes; 140 - 22 leaves 118: keep a margin for a longer stage.
LINE_MAX_BYTES = 110
KEY_MAX_BYTES = 200  # longer condition keys are hashed (the adapters refuse over 1024 bytes)
_ELLIPSIS = "..."


class AlertKind(StrEnum):
    REGIME_CHANGE = "regime_change"
    HEALTH_FAILURE = "health_failure"
    HEALTH_RESTORED = "health_restored"
    READINESS = "readiness"
    EOD_REPORT = "eod_report"
    EOD_NOT_FLAT = "eod_not_flat"


def clip_line(text: str, limit: int = LINE_MAX_BYTES) -> str:
    """One line of at most ``limit`` UTF-8 bytes (whitespace collapsed, ``...`` when cut)."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    raw = line.encode("utf-8")
    if len(raw) <= limit:
        return line
    return raw[: limit - len(_ELLIPSIS)].decode("utf-8", errors="ignore").rstrip() + _ELLIPSIS


def _alert(
    kind: AlertKind, subject: str, line: str, details: Mapping[str, object], key: str
) -> Alert:
    return Alert(
        subject=subject,
        line=clip_line(line),
        details={"kind": kind.value, **details},
        dedup_key=f"{kind.value}:{_bounded(key)}",
    )


def _bounded(key: str) -> str:
    """The key itself when short; else a digest of it (the same condition, the same key)."""
    if len(key.encode("utf-8")) <= KEY_MAX_BYTES:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _ny(ts: datetime) -> str:
    return ts.astimezone(NEW_YORK).strftime("%H:%M")


def regime_change(
    day: date,
    before: Regime | None,
    after: Regime,
    reason: str,
    details: Mapping[str, object],
) -> Alert:
    was = before.value if before is not None else "none"
    return _alert(
        AlertKind.REGIME_CHANGE,
        f"Regime {was} -> {after.value}",
        f"Regime {was} -> {after.value}: {reason}",
        details,
        f"{day.isoformat()}:{was}->{after.value}",
    )


def health_failure(failures: Sequence[CheckResult], details: Mapping[str, object]) -> Alert:
    names = sorted(c.name for c in failures)
    first = sorted(failures, key=lambda c: c.name)[0] if failures else None
    lead = f"{first.name}: {first.reason}" if first is not None else "no check failed"
    more = f" (+{len(names) - 1} more)" if len(names) > 1 else ""
    return _alert(
        AlertKind.HEALTH_FAILURE,
        "Health FAILED: safe mode on",
        f"Health FAILED, safe mode on{more}: {lead}",
        details,
        ",".join(names),  # the same failing checks page once per cooldown, a new one at once
    )


def health_restored(safe_mode_version: int, details: Mapping[str, object]) -> Alert:
    return _alert(
        AlertKind.HEALTH_RESTORED,
        "Health restored: safe mode off",
        "Health restored: automatic safe mode cleared, entries allowed",
        details,
        f"v{safe_mode_version}",
    )


def readiness(day: date, armed: bool, summary: str, details: Mapping[str, object]) -> Alert:
    head = "armed" if armed else "NOT armed"
    return _alert(
        AlertKind.READINESS,
        f"Pre-market {day.isoformat()}: {head}",
        f"{head}: {summary}",
        details,
        day.isoformat(),
    )


def eod_report(day: date, summary: str, details: Mapping[str, object]) -> Alert:
    return _alert(
        AlertKind.EOD_REPORT,
        f"Daily report {day.isoformat()}",
        f"EOD {day.isoformat()}: {summary}",
        details,
        day.isoformat(),
    )


def eod_not_flat(
    day: date, at: datetime, left: Sequence[str], details: Mapping[str, object]
) -> Alert:
    return _alert(
        AlertKind.EOD_NOT_FLAT,
        f"EOD NOT FLAT {day.isoformat()}",
        f"EOD NOT FLAT at {_ny(at)} NY, act now: {', '.join(left) or 'unknown'}",
        details,
        day.isoformat(),
    )


__all__ = [
    "LINE_MAX_BYTES",
    "AlertKind",
    "clip_line",
    "eod_not_flat",
    "eod_report",
    "health_failure",
    "health_restored",
    "readiness",
    "regime_change",
]
