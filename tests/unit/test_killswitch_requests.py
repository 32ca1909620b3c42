"""The kill-switch URL's input rules: the caller's identity and the bodies."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader.domain.safety.operator import checked_reason
from maxtrader.operations.killswitch_requests import (
    MAX_BODY_BYTES,
    EngageRequest,
    ReleaseRequest,
    RequestRefused,
    SafeModeRequest,
    caller_arn,
    parse_body,
)


def context(arn: object) -> dict[str, object]:
    return {"authorizer": {"iam": {"userArn": arn, "accountId": "123456789012"}}}


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::123456789012:user/ops/alice",
        "arn:aws:iam::123456789012:role/Operator",
        "arn:aws:sts::123456789012:assumed-role/Operator/alice@example.com",
        "arn:aws-cn:sts::123456789012:assumed-role/Operator/s1",
        "arn:aws-us-gov:iam::123456789012:user/bob",
        "arn:aws:iam::123456789012:root",
    ],
)
def test_iam_identities_are_the_actor(arn: str) -> None:
    assert caller_arn(context(arn)) == arn


@pytest.mark.parametrize(
    "request_context",
    [
        None,
        {},
        {"authorizer": None},
        {"authorizer": {"iam": None}},
        {"authorizer": {"jwt": {"claims": {}}}},
        context(None),
        context(42),
        context(""),
        context("alice"),
        context("arn:aws:iam::12345:user/alice"),  # not a 12-digit account
        context("arn:aws:s3:::bucket"),
        context("arn:aws:iam::123456789012:rootkit"),
        context("arn:aws:iam::123456789012:user/"),
        context("arn:aws:iam::123456789012:user/alice\nforged line"),
        context("arn:aws:iam::123456789012:user/alice\n"),  # "$" alone would let it pass
        context("arn:aws:iam::123456789012:user/" + "a" * 3000),
    ],
)
def test_no_iam_identity_is_403(request_context: object) -> None:
    with pytest.raises(RequestRefused) as refused:
        caller_arn(request_context)
    assert refused.value.status == 403 and "IAM identity" in refused.value.message


def test_reason_boundaries() -> None:
    assert parse_body(json.dumps({"reason": "x" * 500}), ReleaseRequest).reason == "x" * 500
    with pytest.raises(RequestRefused, match="reason: String should have at most 500"):
        parse_body(json.dumps({"reason": "x" * 501}), ReleaseRequest)
    accented = "arrêt d'urgence 🚨"
    assert parse_body(json.dumps({"reason": accented}), ReleaseRequest).reason == accented


@pytest.mark.parametrize(
    "bad",
    [
        "a\x00b",
        "a\rb",
        "tab\there",
        "del\x7f",
        "c1\x85",
        "ls\u2028",
        "pasted\u00a0nbsp",
        "zero\u200bwidth",
        "bidi\u202eflip",
    ],
)
def test_control_characters_in_a_reason_are_refused(bad: str) -> None:
    with pytest.raises(RequestRefused, match="reason: must not contain control characters"):
        parse_body(json.dumps({"reason": bad}), EngageRequest)


def test_types_are_strict_and_unknown_fields_named() -> None:
    with pytest.raises(RequestRefused, match=r"^on: Input should be a valid boolean"):
        parse_body('{"on": "true", "reason": "x"}', SafeModeRequest)
    with pytest.raises(RequestRefused, match=r"^colour: unknown field \(allowed: reason\)"):
        parse_body('{"reason": "x", "colour": "red"}', ReleaseRequest)
    assert parse_body('{"reason": "x", "flatten": true}', EngageRequest).flatten is True
    assert parse_body('{"reason": "x"}', EngageRequest).flatten is False


@pytest.mark.parametrize("raw", ["[" * 4000, "[" * 2000 + "]" * 2000])
def test_a_deeply_nested_body_is_a_400_not_a_crash(raw: str) -> None:
    with pytest.raises(RequestRefused, match=r"^body: not valid JSON"):  # was a RecursionError
        parse_body(raw, ReleaseRequest)


def test_an_oversized_body_is_refused_before_parsing() -> None:
    raw = "{" + " " * MAX_BODY_BYTES + '"reason": "x"}'
    with pytest.raises(RequestRefused, match=f"over {MAX_BODY_BYTES}"):
        parse_body(raw, ReleaseRequest)


# Unicode separators and format characters: where a copy-paste hides what the eye cannot see.
INVISIBLE = st.sampled_from(["\u00a0", "\u2007", "\u200b", "\u202e", "\u2060", "\ufeff"])


@pytest.mark.property
@given(st.text(max_size=520) | st.lists(st.text(max_size=20) | INVISIBLE, max_size=8).map("".join))
def test_a_reason_is_accepted_exactly_when_the_rule_says(reason: str) -> None:
    ok = 1 <= len(reason) <= 500 and bool(reason.strip()) and reason.isprintable()
    body = json.dumps({"reason": reason})
    if ok:
        assert parse_body(body, ReleaseRequest).reason == reason
        assert checked_reason(reason) == reason  # and the engine takes what the URL took
    else:
        with pytest.raises(RequestRefused) as refused:
            parse_body(body, ReleaseRequest)
        assert refused.value.status == 400 and refused.value.message.startswith("reason: ")
