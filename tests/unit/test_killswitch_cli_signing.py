"""``maxtrader kill-switch``: URL rules, the region of the signature, the request body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maxtrader.cli.killswitch_cmd import CommandError, check_url, sign

URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws/"


@pytest.fixture(autouse=True)
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNITTEST00000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit-test-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


def scope(request_headers: dict[str, str]) -> str:
    return request_headers["Authorization"].split("Credential=", 1)[1].split(",", 1)[0]


def test_the_region_comes_from_the_function_url() -> None:
    signed = sign("engage", URL, {"reason": "x"}, None)
    assert scope(signed.headers).endswith("/eu-west-2/lambda/aws4_request")
    assert signed.url == URL.rstrip("/") + "/engage" and signed.method == "POST"
    assert json.loads(signed.data or b"") == {"reason": "x"}
    assert "X-Amz-Security-Token" not in signed.headers  # none in the session: none sent


def test_region_flag_wins_and_status_has_no_body() -> None:
    signed = sign("status", URL, None, "us-west-2")
    assert scope(signed.headers).endswith("/us-west-2/lambda/aws4_request")
    assert (signed.method, signed.data) == ("GET", None)


def test_no_region_anywhere_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandError, match="no AWS region"):
        sign("status", "http://127.0.0.1:8080", None, None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    signed = sign("status", "http://127.0.0.1:8080", None, None)
    assert "/ap-southeast-2/lambda/" in scope(signed.headers)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (URL, True),
        ("http://127.0.0.1:9000/", True),
        ("http://localhost:9000", True),
        ("http://abc.lambda-url.us-east-1.on.aws/", False),
        ("https://", False),
        ("file:///etc/passwd", False),
        ("", False),
    ],
)
def test_only_https_or_loopback_http(url: str, ok: bool) -> None:
    if ok:
        assert check_url(url) == url.rstrip("/")
    else:
        with pytest.raises(CommandError, match="not an https URL"):
            check_url(url)
