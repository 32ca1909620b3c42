"""The alerts the monitor and the kill switch send: a first line that fits one SMS whole, whatever
goes into it (a 500-character operator reason, non-ASCII text, a long drift), so the SNS adapter
never has to cut it and the email opens with the same line (the scheduled operations' kinds are
checked alike in test_alert_kinds.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from maxtrader.adapters import alert_messages
from maxtrader.adapters.alert_cooldown import Cooldown
from maxtrader.adapters.memory_alerts import InMemoryAlerts
from maxtrader.adapters.memory_store import InMemoryStateStore
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alert
from maxtrader.operations import monitor_alerts
from maxtrader.operations.alert_kinds import LINE_MAX_BYTES
from maxtrader.operations.killswitch import KillSwitchOperations
from maxtrader.operations.killswitch_requests import (
    MAX_REASON_CHARS,
    EngageRequest,
    FlattenRequest,
    ReleaseRequest,
    SafeModeRequest,
)
from maxtrader.operations.monitor_exits import ExitOutcome
from maxtrader.operations.monitor_inflight import InFlight, InFlightAction
from maxtrader.operations.monitor_reconcile import Drift, DriftKind
from maxtrader.trading.exits import ExitReason
from tests.support.safety import make_engine

PREFIX = "MaxTrader-production"  # the longest prefix a stage gives today
AT = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
TEXT = st.text(min_size=1, max_size=400)  # every code point, line breaks and controls included
# What the kill-switch URL accepts as a reason: up to 500 printable characters, not blank.
REASON = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn", "Co", "Cf", "Zl", "Zp")),
    min_size=1,
    max_size=MAX_REASON_CHARS,
).filter(lambda r: r.strip() != "" and r.isprintable())
SESSION = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789@.-_"), min_size=1,
                  max_size=64)  # fmt: skip


class FlatBroker:
    """A broker with nothing open: the two calls a flatten makes."""

    def cancel_all(self) -> None:
        return None

    def close_all_positions(self, *, cancel_orders: bool = True) -> list[object]:
        return []


def assert_fits_one_sms(alert: Alert) -> None:
    assert "\n" not in alert.line and len(alert.line.encode("utf-8")) <= LINE_MAX_BYTES
    sms = alert_messages.sms(alert, PREFIX)
    assert len(sms.encode("utf-8")) <= alert_messages.SMS_MAX_BYTES
    assert sms == f"{PREFIX}: {alert.line}"  # nothing cut by the adapter
    body = json.loads(alert_messages.sns_message(alert, PREFIX, AT))
    assert body["email"].splitlines()[0] == alert.line


EVENTS = st.builds(
    AuditRecord,
    ts=st.just(AT),
    kind=st.sampled_from(
        [
            AuditKind.BREAKER_TRIP,
            AuditKind.BREAKER_RESET,
            AuditKind.RISK_BREACH,
            AuditKind.RECONCILIATION,
        ]
    ),
    subject=TEXT,
    detail=st.fixed_dictionaries({"reason": TEXT}),
)
DRIFTS = st.lists(
    st.builds(Drift, st.sampled_from(DriftKind), TEXT, st.integers(), st.integers()),
    min_size=1,
    max_size=20,
)
MONITOR_ALERTS = st.one_of(
    st.lists(EVENTS, min_size=1, max_size=3).map(monitor_alerts.event_alerts),
    DRIFTS.map(lambda d: [monitor_alerts.drift_alert(d)]),
    st.builds(
        InFlight,
        TEXT,
        st.sampled_from([InFlightAction.RELEASED_ABSENT, InFlightAction.RELEASED_UNKNOWN]),
        TEXT,
        TEXT,
    ).map(lambda i: [a for a in [monitor_alerts.inflight_alert(i)] if a is not None]),
    st.builds(ExitOutcome, TEXT, st.sampled_from(ExitReason), st.just(False), TEXT).map(
        lambda o: [monitor_alerts.exit_alert(o)]
    ),
)


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(MONITOR_ALERTS)
def test_every_monitor_alert_fits_one_sms_whole(alerts: list[Alert]) -> None:
    assert alerts
    for alert in alerts:
        assert_fits_one_sms(alert)


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(SESSION, REASON, st.sampled_from(["engage", "engage+flatten", "safe-mode", "flatten"]))
@example("alice", "runaway fills on SPY, " * 22, "engage")  # the longest a reason may be: 500
def test_every_kill_switch_alert_fits_one_sms_and_keeps_the_whole_reason_for_email(
    session: str, reason: str, action: str
) -> None:
    clock = FixedClock(AT)
    sent = InMemoryAlerts(clock, Cooldown(timedelta(minutes=15)))

    broker: Any = FlatBroker()
    ops = KillSwitchOperations(
        make_engine(InMemoryStateStore(), clock), sent, broker=lambda: broker, clock=clock
    )
    actor = f"arn:aws:sts::123456789012:assumed-role/MaxTraderOperator/{session}"
    if action == "safe-mode":
        ops.safe_mode(actor, SafeModeRequest(on=True, reason=reason))
    elif action == "flatten":
        ops.flatten(actor, FlattenRequest(reason=reason))
    else:
        ops.engage(actor, EngageRequest(reason=reason, flatten=action == "engage+flatten"))
    ops.release(actor, ReleaseRequest(reason=reason))
    assert sent.sent  # the change (and the release after it) went out
    for record in sent.sent:
        assert_fits_one_sms(record.alert)
        assert record.alert.details["reason"] == reason  # the email has all of it
