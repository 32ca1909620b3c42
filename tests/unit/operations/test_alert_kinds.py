"""Every alert kind the scheduled operations send: a first line that fits one SMS whatever goes
into it, unclipped by the SNS adapter, and the same line heading the email."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxtrader.adapters import alert_messages
from maxtrader.domain.models import CheckResult, Regime
from maxtrader.domain.ports import Alert
from maxtrader.operations import alert_kinds
from maxtrader.operations.alert_kinds import LINE_MAX_BYTES, AlertKind, clip_line

TEXT = st.text(min_size=0, max_size=400)  # every code point, line breaks and controls included
DAY = st.dates(min_value=date(2016, 1, 1), max_value=date(2030, 12, 31))
AT = st.datetimes(timezones=st.just(UTC))
CHECKS = st.lists(
    st.builds(
        CheckResult,
        name=st.text(min_size=1, max_size=60) | st.text(min_size=200, max_size=300),
        passed=st.just(False),
        reason=TEXT,
    ),
    min_size=1,
    max_size=60,
)
PREFIX = "MaxTrader-production"  # the longest prefix a stage gives today

BUILDERS: dict[AlertKind, st.SearchStrategy[Alert]] = {
    AlertKind.REGIME_CHANGE: st.builds(
        alert_kinds.regime_change,
        DAY,
        st.none() | st.sampled_from(Regime),
        st.sampled_from(Regime),
        TEXT,
        st.just({}),
    ),
    AlertKind.HEALTH_FAILURE: st.builds(alert_kinds.health_failure, CHECKS, st.just({})),
    AlertKind.HEALTH_RESTORED: st.builds(
        alert_kinds.health_restored, st.integers(0, 10**9), st.just({})
    ),
    AlertKind.READINESS: st.builds(alert_kinds.readiness, DAY, st.booleans(), TEXT, st.just({})),
    AlertKind.EOD_REPORT: st.builds(alert_kinds.eod_report, DAY, TEXT, st.just({})),
    AlertKind.EOD_NOT_FLAT: st.builds(
        alert_kinds.eod_not_flat, DAY, AT, st.lists(TEXT, max_size=40), st.just({})
    ),
}


def test_every_kind_has_a_builder_under_test() -> None:
    assert set(BUILDERS) == set(AlertKind)


@pytest.mark.property
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(AlertKind).flatmap(lambda k: BUILDERS[k]))
def test_the_first_line_fits_an_sms_and_the_adapter_never_cuts_it(alert: Alert) -> None:
    assert "\n" not in alert.line and len(alert.line.encode("utf-8")) <= LINE_MAX_BYTES
    sms = alert_messages.sms(alert, PREFIX)
    assert len(sms.encode("utf-8")) <= alert_messages.SMS_MAX_BYTES
    assert sms == f"{PREFIX}: {alert.line}"  # nothing clipped after the catalogue's own cut
    body = json.loads(alert_messages.sns_message(alert, PREFIX, datetime(2024, 6, 3, tzinfo=UTC)))
    assert body["email"].splitlines()[0] == alert.line
    assert alert.details["kind"] in {k.value for k in AlertKind}
    assert alert.key().split(":", 1)[0] == alert.details["kind"]


@pytest.mark.property
@given(TEXT, st.integers(min_value=4, max_value=200))
def test_clip_line_keeps_short_lines_and_cuts_long_ones_on_a_character(
    text: str, limit: int
) -> None:
    line = clip_line(text, limit)
    assert len(line.encode("utf-8")) <= limit and "\n" not in line
    collapsed = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(collapsed.encode("utf-8")) <= limit:
        assert line == collapsed
    else:
        assert line.endswith("...")


BUILD: dict[str, Callable[[], Alert]] = {
    "health": lambda: alert_kinds.health_failure(
        [CheckResult(name="data_freshness:SPY", passed=False, reason="SPY newest bar 400s old")],
        {},
    ),
}


def test_the_most_important_fact_leads_the_line() -> None:
    assert BUILD["health"]().line == (
        "Health FAILED, safe mode on: data_freshness:SPY: SPY newest bar 400s old"
    )
    many = alert_kinds.health_failure(
        [CheckResult(name=n, passed=False, reason="x" * 300) for n in ("b", "a", "c")], {}
    )
    assert many.line.startswith("Health FAILED, safe mode on (+2 more): a: xxx")
    assert many.key() == "health_failure:a,b,c"


def test_a_long_condition_key_is_hashed_stably_and_stays_under_the_ports_limit() -> None:
    checks = [CheckResult(name=f"data_freshness:SYM{i:03d}", passed=False, reason="stale")
              for i in range(120)]  # fmt: skip
    first = alert_kinds.health_failure(checks, {})
    again = alert_kinds.health_failure(list(reversed(checks)), {})
    assert first.key() == again.key() and first.key().startswith("health_failure:sha256:")
    assert len(first.key().encode()) <= alert_kinds.KEY_MAX_BYTES + len("health_failure:")
    other = alert_kinds.health_failure(checks[:-1], {})
    assert other.key() != first.key()
