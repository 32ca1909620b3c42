"""``maxtrader kill-switch`` and ``maxtrader status`` against a local Function URL stand-in.

The stand-in (127.0.0.1) does what the Function URL's AWS_IAM auth does: it recomputes the
SigV4 signature with botocore from the same credentials and compares; a bad one is a 403. A good
one goes, as a real-shaped Function URL event with the caller's ARN, to the real handler (on
moto and the Alpaca emulator), so the CLI prints what the function answered.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.cli import main
from maxtrader.domain.clock import FixedClock
from maxtrader.domain.models import TradingState
from maxtrader.runtime import operator_factory
from tests.support.alert_topic import create_alert_topic
from tests.support.killswitch_harness import KillSwitchRig, function_url_event, invoke
from tests.support.safety import entry, make_engine, market

pytest_plugins = ("tests.support.alpaca_fixtures",)
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:No application metrics:UserWarning"),
]

KEY_ID, SECRET, TOKEN = "ASIACLITESTKEY000001", "cli-test-secret", "cli-session-token"
CALLER = "arn:aws:sts::123456789012:assumed-role/MaxTraderOperator/cli-user"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>\d{8}/[^/]+/[^/]+/aws4_request), "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    verdict: str = ""
    scope: str = ""
    signed: list[str] = field(default_factory=list)


def verify_sigv4(
    received: Received, base_url: str, credentials: Credentials, region: str
) -> tuple[bool, str]:
    """Recompute the signature with botocore from what arrived; (valid, why not)."""
    auth_header = received.headers.get("Authorization", "")
    match = _AUTH.match(auth_header)
    if not match:
        return False, f"no SigV4 Authorization header ({auth_header[:40]!r})"
    signed = match["signed"].split(";")
    received.scope, received.signed = match["scope"], signed
    if match["key"] != credentials.access_key:
        return False, "unknown access key"
    if not match["scope"].endswith(f"/{region}/lambda/aws4_request"):
        return False, f"scope {match['scope']} is not {region}/lambda"
    lower = {k.lower(): v for k, v in received.headers.items()}
    request = AWSRequest(
        method=received.method,
        url=base_url + received.path,
        data=received.body or None,
        headers={h: lower[h] for h in signed if h in lower},
    )
    request.context["timestamp"] = lower.get("x-amz-date", "")
    signer = SigV4Auth(credentials, "lambda", region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if expected != match["sig"]:
        return False, "signature mismatch"
    return True, ""


class FunctionUrlStandIn:
    """The URL's IAM auth (SigV4 checked with botocore), then the real handler in process."""

    def __init__(self, credentials: Credentials, region: str = "us-east-1") -> None:
        self.credentials, self.region = credentials, region
        self.received: list[Received] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
                stand_in.received.append(got)
                valid, why = verify_sigv4(got, stand_in.url, stand_in.credentials, stand_in.region)
                got.verdict = why or "valid"
                if valid:
                    raw = got.body.decode("utf-8") if got.body else None
                    event = function_url_event(got.method, got.path, raw_body=raw, arn=CALLER)
                    status, answer = invoke(event)
                else:
                    status, answer = 403, {"Message": "Forbidden"}
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def cli_credentials(aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's credentials, from the environment only (no files, no instance metadata)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)


@pytest.fixture
def rig(
    state_table: str,
    cli_credentials: None,
    alpaca_clock: FixedClock,
    broker: AlpacaBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> KillSwitchRig:
    built = KillSwitchRig.build(state_table, create_alert_topic(), alpaca_clock, lambda: broker)
    monkeypatch.setattr(operator_factory, "killswitch_operations", lambda: built.ops)
    return built


@pytest.fixture
def url_stand_in(rig: KillSwitchRig) -> Iterator[FunctionUrlStandIn]:
    stand_in = FunctionUrlStandIn(Credentials(KEY_ID, SECRET, TOKEN))
    yield stand_in
    stand_in.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["kill-switch", *argv])
    out, err = capsys.readouterr()
    # The handler runs in this process: its one-line JSON logs and metrics come first; the
    # CLI's answer is the indented document printed last.
    start = 0 if out.startswith("{\n") else out.rfind("\n{\n") + 1
    return code, (json.loads(out[start:]) if start or out.startswith("{\n") else None), err


# --- the signed request -------------------------------------------------------------------------
def test_engage_is_signed_for_lambda_and_the_function_acts_for_the_caller(
    url_stand_in: FunctionUrlStandIn, rig: KillSwitchRig, capsys: pytest.CaptureFixture[str]
) -> None:
    code, answer, err = run(
        capsys, "engage", "--stage", "staging", "--url", url_stand_in.url, "--reason", "cli test"
    )
    assert (code, err) == (0, "")
    [got] = url_stand_in.received
    assert got.verdict == "valid" and (got.method, got.path) == ("POST", "/engage")
    assert got.scope.endswith("/us-east-1/lambda/aws4_request")
    assert {"host", "x-amz-date", "x-amz-security-token", "content-type"} <= set(got.signed)
    assert json.loads(got.body) == {"reason": "cli test"}
    assert answer["after"]["on"] and answer["after"]["actor"] == CALLER
    assert make_engine(rig.store, rig.clock).trading_state() is TradingState.HALTED


def test_every_action_sends_its_body(
    url_stand_in: FunctionUrlStandIn, rig: KillSwitchRig, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("--stage", "staging", "--url", url_stand_in.url)
    assert run(capsys, "engage", *base, "--reason", "r1", "--flatten")[0] == 0
    assert run(capsys, "safe-mode", *base, "--on", "--reason", "r2")[0] == 0
    assert run(capsys, "safe-mode", *base, "--off", "--reason", "r3")[0] == 0
    assert run(capsys, "release", *base, "--reason", "r4")[0] == 0
    code, status, _ = run(capsys, "status", *base)
    assert code == 0 and status["trading_state"] == "ACTIVE"
    sent = [(r.method, r.path, json.loads(r.body) if r.body else None)
            for r in url_stand_in.received]  # fmt: skip
    assert sent == [
        ("POST", "/engage", {"reason": "r1", "flatten": True}),
        ("POST", "/safe-mode", {"reason": "r2", "on": True}),
        ("POST", "/safe-mode", {"reason": "r3", "on": False}),
        ("POST", "/release", {"reason": "r4"}),
        ("GET", "/status", None),
    ]
    assert all(r.verdict == "valid" for r in url_stand_in.received)


def test_a_reason_pasted_with_odd_whitespace_is_sent_as_one_plain_line(
    url_stand_in: FunctionUrlStandIn, rig: KillSwitchRig, capsys: pytest.CaptureFixture[str]
) -> None:
    """The URL refuses a non-breaking space or a newline (400); the CLI sends plain spaces."""
    pasted = "runaway\u00a0fills\n on\tQQQ\u2003 "
    code, answer, _ = run(capsys, "engage", "--stage", "staging", "--url", url_stand_in.url,
                          "--reason", pasted)  # fmt: skip
    assert code == 0 and answer["after"]["reason"] == "runaway fills on QQQ"
    assert json.loads(url_stand_in.received[0].body) == {"reason": "runaway fills on QQQ"}


def test_the_verifier_rejects_a_signature_made_with_other_credentials() -> None:
    """The stand-in's check is not vacuous: a request signed with another secret fails it."""
    body = b'{"reason": "x"}'
    request = AWSRequest(method="POST", url="http://127.0.0.1:9/engage", data=body,
                         headers={"Content-Type": "application/json"})  # fmt: skip
    SigV4Auth(Credentials(KEY_ID, "another-secret"), "lambda", "us-east-1").add_auth(request)
    got = Received("POST", "/engage", dict(request.headers.items()), body)
    got.headers["Host"] = "127.0.0.1:9"
    ok, why = verify_sigv4(got, "http://127.0.0.1:9", Credentials(KEY_ID, SECRET), "us-east-1")
    assert (ok, why) == (False, "signature mismatch")
    SigV4Auth(Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(request)
    got = Received("POST", "/engage", dict(request.headers.items()), body)
    assert verify_sigv4(got, "http://127.0.0.1:9", Credentials(KEY_ID, SECRET), "us-east-1")[0] is (
        False
    )


def test_a_flatten_that_failed_exits_1_with_the_answer(
    url_stand_in: FunctionUrlStandIn,
    rig: KillSwitchRig,
    alpaca: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from maxtrader.emulators.alpaca_faults import Fault

    alpaca.inject("close_all", Fault.of_status(503))
    code, answer, _ = run(capsys, "engage", "--stage", "staging", "--url", url_stand_in.url,
                          "--reason", "x", "--flatten")  # fmt: skip
    assert code == 1 and answer["ok"] is False and answer["after"]["on"] is True


def test_a_refused_body_exits_1_and_prints_the_functions_reason(
    url_stand_in: FunctionUrlStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    code, answer, _ = run(
        capsys, "engage", "--stage", "staging", "--url", url_stand_in.url, "--reason", "a\u200bb"
    )  # a zero-width space: not whitespace the CLI could tidy, refused by the function
    assert code == 1 and answer["status"] == 400 and answer["error"].startswith("reason:")


# --- the CLI's own errors: exit 2, one line -----------------------------------------------------
def one_line_error(code: int, answer: Any, err: str) -> str:
    assert code == 2 and answer is None
    assert err.count("\n") == 1 and err.startswith("maxtrader kill-switch: ")
    return err


def test_wrong_credentials_are_a_403_in_one_line(
    url_stand_in: FunctionUrlStandIn, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret")
    err = one_line_error(*run(capsys, "status", "--stage", "staging", "--url", url_stand_in.url))
    assert "403 Forbidden" in err and "lambda:InvokeFunctionUrl" in err
    assert url_stand_in.received[0].verdict == "signature mismatch"


def test_missing_credentials(
    url_stand_in: FunctionUrlStandIn, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    err = one_line_error(*run(capsys, "status", "--stage", "staging", "--url", url_stand_in.url))
    assert "no AWS credentials found" in err and url_stand_in.received == []


def test_missing_credentials_without_a_url_say_so_rather_than_ask_for_one(
    cli_credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The stack lookup comes first: its failure must name the credentials, not --url."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a fresh CLI process: none cached
    err = one_line_error(*run(capsys, "engage", "--stage", "staging", "--reason", "x"))
    assert "no AWS credentials found" in err and "--url" not in err


def test_an_unreachable_url(cli_credentials: None, capsys: Any) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    argv = ("engage", "--stage", "staging", "--url", url, "--reason", "x", "--timeout", "2")
    err = one_line_error(*run(capsys, *argv))
    assert "unreachable" in err and "docs/runbook.md" in err


@pytest.mark.parametrize("url", ["http://example.com", "ftp://127.0.0.1/", "not a url"])
def test_a_plain_http_url_off_loopback_is_refused_before_sending(
    cli_credentials: None, url: str, capsys: Any
) -> None:
    err = one_line_error(*run(capsys, "status", "--stage", "staging", "--url", url))
    assert "https" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["engage"], "engage needs --reason"),
        (["release"], "release needs --reason"),
        (["safe-mode", "--reason", "x"], "safe-mode needs --on or --off"),
    ],
)
def test_missing_arguments_are_named(
    cli_credentials: None, argv: list[str], message: str, capsys: Any
) -> None:
    err = one_line_error(*run(capsys, *argv, "--stage", "staging", "--url", "https://x.on.aws"))
    assert message in err


def test_the_url_comes_from_the_stack_output(
    url_stand_in: FunctionUrlStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"KillSwitchUrl": {"Value": url_stand_in.url + "/"}},
    }
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack(StackName="MaxTrader-staging", TemplateBody=json.dumps(template))
    try:
        code, answer, _ = run(capsys, "status", "--stage", "staging")
        assert code == 0 and answer["trading_state"] == "ACTIVE"
        assert url_stand_in.received[0].verdict == "valid"
    finally:
        cfn.delete_stack(StackName="MaxTrader-staging")


def test_no_stack_is_a_one_line_error(cli_credentials: None, capsys: Any) -> None:
    err = one_line_error(*run(capsys, "status", "--stage", "staging"))
    assert "MaxTrader-staging" in err and "--url" in err


# --- maxtrader status ---------------------------------------------------------------------------
def test_status_prints_state_limits_pnl_and_positions(
    rig: KillSwitchRig, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(rig.store, rig.clock)
    intent = entry(symbol="SPY", strategy="wave_renko")
    assert engine.reserve(intent, market()).approved
    engine.engage_kill_switch(CALLER, "checking the status command")
    code = main(["status", "--stage", "staging", "--table", rig.store.table,
                 "--date", "2024-06-03"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "trading state:  HALTED" in out
    assert f"by {CALLER}: checking the status command" in out
    assert "regime:         UNKNOWN (no reading)" in out
    assert re.search(r"trades\s+1 / \d+", out) and re.search(r"positions\s+1 / \d+", out)
    assert "realized      day 0.00" in out
    assert intent.client_order_id in out and "reserved" in out
    for name in ("rapid_loss", "error_rate", "drawdown"):
        assert re.search(rf"{name}\s+ok", out)


def test_status_on_a_missing_table_is_a_one_line_error(
    cli_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["status", "--stage", "staging", "--table", "no-such-table"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no-such-table" in err
