"""Refusals of the kill-switch URL: no identity 403, bad bodies 400, unknown paths 404/405,
and nothing written for any of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from maxtrader.emulators.alpaca import AlpacaEmulator
from tests.support.killswitch_harness import (
    KillSwitchRig,
    function_url_event,
    invoke,
    post,
)

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.killswitch_fixtures")
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),  # refusals, status
]


# --- refusals: nothing written ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/engage", {"reason": "x"}),
        ("/release", {"reason": "x"}),
        ("/safe-mode", {"on": True, "reason": "x"}),
        ("/flatten", {"reason": "x"}),
    ],
)
def test_no_iam_identity_is_403_and_writes_nothing(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, path: str, body: dict[str, Any]
) -> None:
    status, answer = post(path, body, arn=None)
    assert status == 403 and "IAM identity" in answer["error"]
    assert rig.written() == ((0, 0), 0) and alpaca.count("close_all") == 0
    assert rig.topic.delivered() == []


@pytest.mark.parametrize("arn", ["", "alice", "arn:aws:iam::123:user/x", "arn:aws:s3:::bucket"])
def test_an_identity_that_is_not_an_iam_arn_is_403(rig: KillSwitchRig, arn: str) -> None:
    assert post("/engage", {"reason": "x"}, arn=arn)[0] == 403
    assert invoke(function_url_event("GET", "/status", arn=arn))[0] == 403
    assert rig.written() == ((0, 0), 0)


@pytest.mark.parametrize(
    ("path", "raw", "named"),
    [
        ("/engage", "{}", "reason: Field required"),
        ("/engage", '{"reason": ""}', "reason: String should have at least 1 character"),
        ("/engage", json.dumps({"reason": "x" * 501}), "reason: String should have at most 500"),
        ("/engage", '{"reason": "a\\nb"}', "reason: must not contain control characters"),
        # A pasted non-breaking space: the engine refuses it, so the URL must (it was a 500).
        ("/engage", '{"reason": "broker\\u00a0flaky"}', "reason: must not contain control"),
        ("/engage", '{"reason": "   "}', "reason: must say why"),
        ("/engage", '{"reason": 5}', "reason: Input should be a valid string"),
        ("/engage", '{"reason": "x", "flatten": "yes"}', "flatten: Input should be a valid bool"),
        ("/engage", '{"reason": "x", "force": true}', "force: unknown field"),
        ("/release", '{"reason": "x", "flatten": true}', "flatten: unknown field"),
        ("/safe-mode", '{"reason": "x"}', "on: Field required"),
        ("/safe-mode", '{"on": 1, "reason": "x"}', "on: Input should be a valid bool"),
        ("/flatten", "", "body: a JSON object is required"),
        ("/engage", "not json", "body: not valid JSON"),
        ("/engage", '["reason"]', "body: must be a JSON object"),
        ("/engage", "[" * 3000 + "]" * 1000, "body: not valid JSON"),  # deeper than json goes
        ("/engage", json.dumps({"reason": "x", "pad": "y" * 5000}), "body: 5"),
    ],
)
def test_bad_bodies_are_400_naming_the_field_and_write_nothing(
    rig: KillSwitchRig, alpaca: AlpacaEmulator, path: str, raw: str, named: str
) -> None:
    status, answer = invoke(function_url_event("POST", path, raw_body=raw))
    assert status == 400 and answer["error"].startswith(named), answer
    assert rig.written() == ((0, 0), 0) and alpaca.count("close_all") == 0


def test_a_base64_body_is_decoded_and_a_bad_one_refused(rig: KillSwitchRig) -> None:
    good = function_url_event("POST", "/engage", {"reason": "b64"}, base64_body=True)
    assert invoke(good)[0] == 200
    bad = function_url_event("POST", "/release", raw_body="x")
    bad.update(body="%%%not-base64", isBase64Encoded=True)
    status, answer = invoke(bad)
    assert status == 400 and answer["error"] == "body: not valid JSON"
    assert rig.versions() == (1, 0)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/nope", 404),
        ("POST", "/engage/extra", 404),
        ("GET", "/", 404),
        ("GET", "/engage", 405),
        ("DELETE", "/release", 405),
        ("POST", "/status", 405),
        ("PUT", "/safe-mode", 405),
    ],
)
def test_unknown_paths_are_404_and_wrong_methods_405(
    rig: KillSwitchRig, method: str, path: str, expected: int
) -> None:
    status, answer = invoke(function_url_event(method, path, {"reason": "x"}))
    assert status == expected and answer["status"] == expected
    assert rig.written() == ((0, 0), 0)
