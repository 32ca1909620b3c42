"""Alerts without a network: the cooldown rule, the in-memory adapter, SNS message sizing."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters import alert_messages as messages
from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.config.safety import Alerts as AlertsConfig
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.ports import MAX_ALERT_KEY_BYTES, Alert

NOW = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
_SUBJECT_START = set(string.ascii_letters + string.digits + string.punctuation)


def test_the_cooldown_comes_from_the_config() -> None:
    assert Cooldown.from_config(AlertsConfig(alert_cooldown_minutes=7)).period == timedelta(
        minutes=7
    )


def test_the_in_memory_adapter_sends_once_per_cooldown_and_records_it() -> None:
    clock = FixedClock(NOW)
    alerts = InMemoryAlerts(clock, Cooldown(timedelta(minutes=15)))
    a = Alert(subject="Health failing", line="broker_connectivity", dedup_key="health")
    assert alerts.publish(a)
    clock.advance(timedelta(minutes=14, seconds=59))
    assert alerts.publish(a) is False
    assert alerts.publish(Alert(subject="Other", line="x")) is True  # another key
    clock.advance(1)
    assert alerts.publish(a) is True
    assert [(s.alert.key(), s.sent_at - NOW) for s in alerts.sent] == [
        ("health", timedelta(0)),
        ("Other", timedelta(minutes=14, seconds=59)),
        ("health", timedelta(minutes=15)),
    ]
    assert len(alerts.suppressed) == 1


@pytest.mark.parametrize(
    ("subject", "line", "dedup_key"),
    [(" ", "x", ""), ("x", "", ""), ("x", "y", "k" * (MAX_ALERT_KEY_BYTES + 1))],
)
def test_an_alert_without_text_or_with_an_overlong_key_is_refused(
    subject: str, line: str, dedup_key: str
) -> None:
    with pytest.raises(InvalidInputError):
        Alert(subject=subject, line=line, dedup_key=dedup_key)


def test_a_negative_cooldown_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="negative"):
        Cooldown(timedelta(seconds=-1))


# --- SNS sizing ---------------------------------------------------------------------------------
def test_a_subject_is_folded_to_ascii_and_one_line() -> None:
    alert = Alert(subject="Perte journalière\natteinte\t–\x07 arrêt", line="x")
    assert messages.subject(alert, "MaxTrader") == "[MaxTrader] Perte journaliere atteinte arret"


def test_an_sms_line_is_cut_at_a_character_boundary() -> None:
    alert = Alert(subject="s", line="€" * 100)
    line = messages.sms(alert, "MT")
    assert len(line.encode()) <= messages.SMS_MAX_BYTES
    assert line.endswith("...") and line.startswith("MT: €")


def test_huge_details_are_truncated_to_one_sns_message() -> None:
    alert = Alert(subject="s", line="l", details={"dump": "\x01" * 400_000, "n": 1})
    message = messages.sns_message(alert, "MT", NOW)
    assert len(message.encode()) <= messages.MESSAGE_MAX_BYTES
    body = json.loads(message)["email"]
    assert body.endswith("[details truncated to fit one SNS message]")


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(
    subject=st.text(min_size=1, max_size=400).filter(str.strip),
    line=st.text(min_size=1, max_size=600).filter(str.strip),
    prefix=st.text(max_size=40),
    details=st.dictionaries(st.text(max_size=20), st.one_of(st.text(), st.floats(), st.none())),
)
def test_any_alert_makes_a_valid_sns_publish(
    subject: str, line: str, prefix: str, details: dict[str, object]
) -> None:
    alert = Alert(subject=subject, line=line, details=details)
    s = messages.subject(alert, prefix)
    assert 0 < len(s) <= messages.SUBJECT_MAX_CHARS
    assert s.isascii() and s.isprintable() and s[0] in _SUBJECT_START
    message = messages.sns_message(alert, prefix, NOW)
    assert len(message.encode()) <= messages.MESSAGE_MAX_BYTES
    parts = json.loads(message)
    assert set(parts) == {"default", "email", "sms"}
    assert len(parts["sms"].encode()) <= messages.SMS_MAX_BYTES
    assert "\n" not in parts["sms"] and parts["sms"].isprintable()
