"""Webhook signatures: what the relay signs, the ingest handler accepts; nothing else passes."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.domain.errors import InvalidInputError
from maxtrader.webhook import (
    BadSignatureError,
    MalformedSignatureError,
    MissingSignatureError,
    StaleSignatureError,
    WebhookSignatureError,
    sign,
    verify,
)

SECRET = "whsec-test-0123456789"
T = 1_717_423_200  # 2024-06-03 14:00 UTC
BODY = b'[{"ev":"AM","sym":"SPY","s":1717423200000}]'


def test_signature_is_hmac_sha256_of_time_dot_body() -> None:
    header = sign(BODY, SECRET, T)
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"
    verify(header, BODY, SECRET, now=T)


def test_within_tolerance_both_ways_is_accepted_and_beyond_is_a_replay() -> None:
    header = sign(BODY, SECRET, T)
    verify(header, BODY, SECRET, now=T + 300)
    verify(header, BODY, SECRET, now=T - 300)
    with pytest.raises(StaleSignatureError, match=r"signed 300\.5 s ago") as old:
        verify(header, BODY, SECRET, now=T + 300.5)
    assert old.value.age_seconds == 300.5
    with pytest.raises(StaleSignatureError, match="in the future") as new:
        verify(header, BODY, SECRET, now=T - 301)
    assert new.value.age_seconds == -301
    verify(header, BODY, SECRET, now=T + 900, tolerance=900)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header: str | None) -> None:
    with pytest.raises(MissingSignatureError, match="no X-MaxTrader-Signature header"):
        verify(header, BODY, SECRET, now=T)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("garbage", "not a list of key=value"),
        ("v1=" + "a" * 64, "exactly one t="),
        (f"t={T},t={T},v1=" + "a" * 64, "exactly one t="),
        ("t=-5,v1=" + "a" * 64, "exactly one t="),
        ("t=1.5,v1=" + "a" * 64, "exactly one t="),
        ("t=" + "9" * 13 + ",v1=" + "a" * 64, "exactly one t="),
        (f"t={T}", "no v1= signature"),
        (f"t={T},v0=" + "a" * 64, "no v1= signature"),
        (f"t={T},v1=abc", "not 64 hex digits"),
        (f"t={T},v1=" + "g" * 64, "not 64 hex digits"),
        (f"t={T},v1=" + "a" * 64 + ",v1=" + "a" * 2000, "longer than 1024"),
    ],
)
def test_malformed_headers_name_the_problem(header: str, problem: str) -> None:
    with pytest.raises(MalformedSignatureError, match=problem):
        verify(header, BODY, SECRET, now=T)


def test_a_changed_body_time_or_secret_is_a_bad_signature() -> None:
    header = sign(BODY, SECRET, T)
    with pytest.raises(BadSignatureError):
        verify(header, BODY + b" ", SECRET, now=T)
    with pytest.raises(BadSignatureError):
        verify(header.replace(f"t={T}", f"t={T + 1}"), BODY, SECRET, now=T)
    with pytest.raises(BadSignatureError):
        verify(header, BODY, "another-secret", now=T)


def test_a_stale_replay_with_a_wrong_signature_is_reported_as_bad_not_stale() -> None:
    # The signature is checked first: only an authentic request learns that it is too old.
    with pytest.raises(BadSignatureError):
        verify(sign(BODY, "wrong", T), BODY, SECRET, now=T + 10_000)


def test_rotation_accepts_the_previous_secret_and_extra_entries() -> None:
    old = sign(BODY, "previous-secret", T)
    verify(old, BODY, [SECRET, "previous-secret"], now=T)
    new_digest = sign(BODY, SECRET, T).split("v1=")[1]
    both = f"{old},v1={new_digest.upper()},v2=future-scheme"
    verify(both, BODY, SECRET, now=T)
    with pytest.raises(BadSignatureError):
        verify(old, BODY, [SECRET], now=T)


def test_bad_configuration_is_an_input_error_not_a_401() -> None:
    with pytest.raises(InvalidInputError, match="secret is empty"):
        sign(BODY, "", T)
    with pytest.raises(InvalidInputError, match="no webhook secret"):
        verify(sign(BODY, SECRET, T), BODY, [], now=T)
    with pytest.raises(InvalidInputError, match="whole unix seconds"):
        sign(BODY, SECRET, 1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="whole unix seconds"):
        sign(BODY, SECRET, -1)


# --- fuzz: the only exceptions are the typed ones, and only the signer's header passes -----------

_HEADERISH = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda t, sig, extra: f"t={t},v1={sig}{extra}",
        st.one_of(st.integers(-10, 10**14).map(str), st.text(max_size=15)),
        st.one_of(st.text(alphabet="0123456789abcdefABCDEF", max_size=70), st.text(max_size=70)),
        st.text(max_size=30),
    ),
)


@pytest.mark.fuzz
@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(header=_HEADERISH, body=st.binary(max_size=300), now=st.floats(0, 4e9))
def test_random_headers_only_raise_typed_errors(header: str, body: bytes, now: float) -> None:
    try:
        verify(header, body, SECRET, now=now)
    except WebhookSignatureError:
        return
    pytest.fail(f"an unsigned header passed: {header!r}")


def _meaning(header: str) -> tuple[int, set[str]]:
    parts = [p.strip().partition("=") for p in header.split(",")]
    times = {int(v) for k, _, v in parts if k == "t"}
    return times.pop(), {v.lower() for k, _, v in parts if k == "v1"}


@pytest.mark.fuzz
@settings(max_examples=3000)
@given(
    body=st.binary(max_size=300),
    position=st.integers(0, 200),
    replacement=st.text(max_size=3),
    delete=st.integers(0, 3),
)
def test_a_mutated_header_passes_only_if_it_means_the_same(
    body: bytes, position: int, replacement: str, delete: int
) -> None:
    header = sign(body, SECRET, T)
    at = position % (len(header) + 1)
    mutated = header[:at] + replacement + header[at + delete :]
    try:
        verify(mutated, body, SECRET, now=T)
    except WebhookSignatureError:
        return
    t, digests = _meaning(mutated)
    assert t == T
    assert header.split("v1=")[1] in digests


@pytest.mark.fuzz
@settings(max_examples=2000)
@given(body=st.binary(max_size=300), other=st.binary(max_size=300))
def test_a_signature_never_covers_another_body(body: bytes, other: bytes) -> None:
    header = sign(body, SECRET, T)
    if other == body:
        verify(header, other, SECRET, now=T)
        return
    with pytest.raises(BadSignatureError):
        verify(header, other, SECRET, now=T)


def test_hex_digest_in_header_is_lowercase() -> None:
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", sign(b"", SECRET, 0))
