"""An alert as SNS carries it: an email subject, an SMS line and an email body, each sized.

SNS limits (Publish API): ``Subject`` is ASCII, under 100 characters, no line breaks or control
characters, beginning with a letter, digit or punctuation; the whole ``Message`` is at most
256 KiB. An SMS is 140 bytes (one message, no split). With ``MessageStructure=json`` each
protocol gets its own text: ``sms`` the short line, ``email`` and ``default`` (SQS, HTTPS, ...)
the full body.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime

from maxtrader.domain.clock import NEW_YORK
from maxtrader.domain.ports import Alert

SUBJECT_MAX_CHARS = 99
SMS_MAX_BYTES = 140
MESSAGE_MAX_BYTES = 256 * 1024
_ELLIPSIS = "..."
_SPACES = re.compile(r"\s+")
_TRUNCATED = "\n[details truncated to fit one SNS message]"


def _one_line(text: str) -> str:
    """Control and other unprintable characters (line breaks included) become single spaces."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return _SPACES.sub(" ", printable).strip()


def _clip_bytes(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    room = limit - len(_ELLIPSIS)
    return raw[:room].decode("utf-8", errors="ignore").rstrip() + _ELLIPSIS


def subject(alert: Alert, prefix: str) -> str:
    """A valid SNS subject: ASCII (accents folded), one line, at most 99 characters."""
    folded = unicodedata.normalize("NFKD", f"[{prefix}] {alert.subject}")
    ascii_only = folded.encode("ascii", errors="ignore").decode("ascii")
    return _clip_bytes(_one_line(ascii_only), SUBJECT_MAX_CHARS)


def sms(alert: Alert, prefix: str) -> str:
    """The short line as one SMS: one line, at most 140 UTF-8 bytes."""
    return _clip_bytes(_one_line(f"{prefix}: {alert.line}"), SMS_MAX_BYTES)


def email(alert: Alert, sent_at: datetime, details: str, note: str = "") -> str:
    head = [
        _one_line(alert.line),
        "",
        f"subject: {_one_line(alert.subject)}",
        f"key:     {alert.key()}",
        f"sent at: {sent_at.astimezone(NEW_YORK).isoformat()} (New York)",
    ]
    if note:
        head.append(f"note:    {note}")
    return "\n".join([*head, "", "details:", details])


def sns_message(alert: Alert, prefix: str, sent_at: datetime, note: str = "") -> str:
    """The ``Message`` of a ``MessageStructure=json`` publish, at most 256 KiB in all."""
    details = json.dumps(
        dict(alert.details), indent=2, sort_keys=True, default=str, ensure_ascii=False
    )
    while True:
        body = email(alert, sent_at, details, note)
        message = json.dumps(
            {"default": body, "email": body, "sms": sms(alert, prefix)}, ensure_ascii=False
        )
        if len(message.encode("utf-8")) <= MESSAGE_MAX_BYTES:
            return message
        details = details[: len(details) // 2] + _TRUNCATED  # halves: a few rounds at most
