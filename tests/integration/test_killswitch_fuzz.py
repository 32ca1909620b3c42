"""Fuzzed kill-switch requests (methods, paths, headers, bodies, identities): only 4xx, or 200 for
a status read, and never a write, a broker call or an alert.

A generated request that happens to be a valid change (per the spec, checked here independently
of the handler's models) is not sent: it would rightly write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.alpaca import AlpacaEmulator
from maxtrader.runtime import operator_factory
from tests.support.alert_topic import AlertTopic, create_alert_topic
from tests.support.killswitch_harness import OPERATOR, KillSwitchRig, function_url_event, invoke

pytest_plugins = ("tests.support.alpaca_fixtures",)
pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

ROUTES = {"/status": "GET", "/engage": "POST", "/release": "POST", "/safe-mode": "POST",
          "/flatten": "POST"}  # fmt: skip
FIELDS = {"/engage": {"reason", "flatten"}, "/release": {"reason"},
          "/safe-mode": {"on", "reason"}, "/flatten": {"reason"}}  # fmt: skip
REQUIRED = {"/engage": {"reason"}, "/release": {"reason"}, "/safe-mode": {"on", "reason"},
            "/flatten": {"reason"}}  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# IAM names: letters, digits and +=,.@_- (paths add /): the documented character set.
_ARN = re.compile(r"arn:aws:(iam|sts)::\d{12}:(root|(user|role|assumed-role)/[\w+=,.@/-]+)", re.A)


def valid_reason(value: object) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= 500
        and bool(value.strip())
        and not _CONTROL.search(value)
    )


def valid_change(method: str, path: str, body: Any, arn: str | None) -> bool:
    """The spec of a request that may change something (kept apart from the handler's models)."""
    if path not in FIELDS or method != "POST" or arn is None or not _ARN.fullmatch(arn):
        return False
    if not isinstance(body, str):
        return False
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(data, dict) or not REQUIRED[path] <= data.keys() <= FIELDS[path]:
        return False
    bools_ok = all(type(data[k]) is bool for k in ("on", "flatten") if k in data)
    return bools_ok and valid_reason(data["reason"]) and len(body.encode()) <= 4096


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
field_values = st.one_of(
    st.text(max_size=600), st.booleans(), st.integers(), st.none(), st.just(""), json_values
)
objects = st.dictionaries(
    st.sampled_from(["reason", "flatten", "on", "Reason", "force", ""]), field_values, max_size=4
)
# Near-valid bodies: valid on some route, so identity, method and path alone must refuse them.
near_valid = st.fixed_dictionaries(
    {"reason": st.text(min_size=1, max_size=40)},
    optional={"flatten": st.booleans(), "on": st.booleans() | st.integers(0, 1)},
)
bodies = st.one_of(
    st.none(),
    near_valid.map(json.dumps),
    near_valid.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    json_values.map(json.dumps),
    objects.map(json.dumps),
    st.integers(1, 4000).map(lambda depth: "[" * depth),  # nesting past json's recursion limit
)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) | st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8
)
paths = st.sampled_from([*ROUTES, "/", "/status/", "/ENGAGE", "//engage", "/engage?x=1"]) | st.text(
    max_size=30
).map(lambda p: "/" + p)
arns = st.one_of(
    st.none(),
    st.just(OPERATOR),
    st.just("arn:aws:iam::123456789012:root"),
    st.text(max_size=60),
    st.from_regex(r"arn:aws:(iam|sts|s3)::\d{0,13}:[a-z-]{0,15}/[ -~]{0,20}", fullmatch=True),
)
headers = st.dictionaries(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    st.text(max_size=40),
    max_size=4,
)


@pytest.fixture
def rig(
    state_table: str,
    alpaca_clock: FixedClock,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[KillSwitchRig]:
    topic: AlertTopic = create_alert_topic()
    built = KillSwitchRig.build(state_table, topic, alpaca_clock, lambda: broker)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    yield built


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=methods,
    path=paths,
    body=bodies,
    arn=arns,
    extra=headers,
    base64_body=st.booleans(),
)
def test_fuzzed_requests_are_refused_and_write_nothing(
    rig: KillSwitchRig,
    alpaca: AlpacaEmulator,
    *,
    method: str,
    path: str,
    body: str | None,
    arn: str | None,
    extra: dict[str, str],
    base64_body: bool,
) -> None:
    if valid_change(method, path, body, arn) and not base64_body:
        event("skipped: a valid change")
        return
    request = function_url_event(
        method, path, arn=arn, headers=extra, raw_body=body, base64_body=base64_body
    )
    status, answer = invoke(request)
    status_read = method == "GET" and path == "/status" and arn is not None and _ARN.fullmatch(arn)
    if status == 200:
        # A valid change sent base64-encoded would write: not a refusal; only a read may pass.
        assert status_read or (base64_body and valid_change(method, path, body, arn)), answer
        if not status_read:
            event("skipped: a valid base64 change")
            return
    else:
        assert 400 <= status < 500, (status, answer)
        assert answer["status"] == status and answer["error"]
    assert rig.written() == ((0, 0), 0)
    assert alpaca.count("close_all") == 0 and alpaca.count("cancel_all") == 0


routes = st.sampled_from(sorted(ROUTES.items()))
not_identities = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.from_regex(r"arn:aws:(iam|sts|s3|lambda)::\d{0,11}:[a-z-]{0,9}/[ -~]{0,20}", fullmatch=True),
    st.from_regex(r"arn:aws:iam::\d{12}:user/[a-z]{1,8}[\n\t ;][ -~]{0,8}", fullmatch=True),
).filter(lambda a: a is None or not _ARN.fullmatch(a))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=routes, body=near_valid | objects, arn=not_identities, extra=headers)
def test_fuzzed_identities_are_403_whatever_the_body(
    rig: KillSwitchRig,
    alpaca: AlpacaEmulator,
    *,
    route: tuple[str, str],
    body: dict[str, Any],
    arn: str | None,
    extra: dict[str, str],
) -> None:
    path, method = route
    status, answer = invoke(function_url_event(method, path, body, arn=arn, headers=extra))
    assert status == 403, (status, answer)
    assert rig.written() == ((0, 0), 0) and alpaca.count("close_all") == 0


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=routes.filter(lambda r: r[1] == "POST"), body=bodies, extra=headers)
def test_fuzzed_bodies_on_real_routes_are_400(
    rig: KillSwitchRig,
    alpaca: AlpacaEmulator,
    route: tuple[str, str],
    body: str | None,
    extra: dict[str, str],
) -> None:
    path, method = route
    if valid_change(method, path, body, OPERATOR):
        event("skipped: a valid change")
        return
    status, answer = invoke(function_url_event(method, path, raw_body=body, headers=extra))
    assert status == 400, (status, answer)
    field = answer["error"].split(":", 1)[0]
    assert field == "body" or field.split(".")[0] in {"reason", "flatten", "on", "Reason",
                                                       "force", ""}  # fmt: skip
    assert rig.written() == ((0, 0), 0) and alpaca.count("close_all") == 0
