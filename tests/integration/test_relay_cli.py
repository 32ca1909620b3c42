"""``maxtrader relay`` as an operator runs it: a process, its environment, SIGTERM to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import pytest

from maxtrader.cli import main
from maxtrader.emulators.massive_stream import MassiveStreamEmulator
from tests.support.relay_harness import WAIT, Receiver, bars_of

KEY = "cli-relay-key-5d1e"
SECRET = "cli-relay-webhook-secret-0b77"
_ENV = ("MASSIVE_API_KEY", "POLYGON_API_KEY", "MAXTRADER_MASSIVE_SECRET_NAME",
        "MAXTRADER_WEBHOOK_SECRET", "MAXTRADER_WEBHOOK_SECRET_NAME", "MAXTRADER_INGEST_URL",
        "MAXTRADER_RELAY_SYMBOLS", "MASSIVE_FEED")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stream() -> Iterator[MassiveStreamEmulator]:
    with MassiveStreamEmulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    # A relay process signs with the machine's clock, so this receiver verifies with it too.
    rec = Receiver(SECRET, clock=time.time)
    yield rec
    rec.close()


def _run_relay(stream: MassiveStreamEmulator, receiver: Receiver) -> str:
    """Start the relay process, see two bars through, stop it with SIGTERM; its whole output."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from maxtrader.cli import main; sys.exit(main())",
         "relay", "--symbols", "SPY,QQQ", "--ingest-url", receiver.url, "--feed", stream.feed,
         "--insecure-feed", "--log-level", "DEBUG"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert stream.wait_until(lambda s: {"AM.SPY", "AM.QQQ"} <= s.live_topics, WAIT * 2)
        stream.publish(bars_of("SPY", 0, 1) + bars_of("QQQ", 0, 1))
        assert receiver.wait_for(lambda r: len(r.received) >= 2)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    return output


def test_relay_process_with_keys_from_the_environment(
    stream: MassiveStreamEmulator, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASSIVE_API_KEY", KEY)
    monkeypatch.setenv("MAXTRADER_WEBHOOK_SECRET", SECRET)
    output = _run_relay(stream, receiver)
    assert sorted(s for s, _ in receiver.received) == ["QQQ", "SPY"]
    assert "DEBUG" in output  # the run was verbose, and still:
    assert KEY not in output and SECRET not in output


def test_relay_process_with_keys_from_secrets_manager(
    stream: MassiveStreamEmulator,
    receiver: Receiver,
    aws_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = boto3.client("secretsmanager")
    client.create_secret(Name="maxtrader/cli/massive", SecretString=json.dumps({"api_key": KEY}))
    client.create_secret(Name="maxtrader/cli/webhook", SecretString=json.dumps({"secret": SECRET}))
    monkeypatch.setenv("MAXTRADER_MASSIVE_SECRET_NAME", "maxtrader/cli/massive")
    monkeypatch.setenv("MAXTRADER_WEBHOOK_SECRET_NAME", "maxtrader/cli/webhook")
    output = _run_relay(stream, receiver)
    assert len(receiver.received) == 2
    assert KEY not in output and SECRET not in output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--symbols", "SPY"], {"MASSIVE_API_KEY": KEY}, "no ingest URL"),
        (["--ingest-url", "https://x.example/"], {"MASSIVE_API_KEY": KEY}, "no symbols"),
        (["--ingest-url", "https://x.example/", "--symbols", "SPY"], {}, "no Massive key: set"),
        (["--ingest-url", "https://x.example/", "--symbols", "SPY"], {"MASSIVE_API_KEY": KEY},
         "no webhook secret: set MAXTRADER_WEBHOOK_SECRET, or MAXTRADER_WEBHOOK_SECRET_NAME"),
        (["--ingest-url", "http://x.example/", "--symbols", "SPY"], {"MASSIVE_API_KEY": KEY},
         "must be https"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_naming_what_is_missing(
    args: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["relay", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.faults
def test_a_missing_secret_is_a_usage_error_not_a_crash(
    aws_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAXTRADER_MASSIVE_SECRET_NAME", "maxtrader/cli/absent")
    monkeypatch.setenv("MAXTRADER_WEBHOOK_SECRET", SECRET)
    code = main(["relay", "--ingest-url", "https://x.example/", "--symbols", "SPY"])
    assert code == 2
    assert "secret 'maxtrader/cli/absent': no such secret" in capsys.readouterr().err
