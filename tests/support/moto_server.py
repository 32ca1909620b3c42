"""A moto server on 127.0.0.1 in its own process, and tables built from the synthesized template.

Why a process: moto keeps its state in module globals, so an in-process server would share them
with any ``mock_aws`` used by another test in the same xdist worker. Why single-threaded: real
DynamoDB serializes conflicting transactions; a single-threaded server does too, so a race test
exercises our conditions and not moto's lack of locking. Clients still race with each other.

The fixtures are registered for every test by ``pytest_plugins`` in tests/conftest.py:
``moto_endpoint`` (session) is the server URL; ``aws_env`` sets AWS_ENDPOINT_URL, a region and
dummy credentials for the test; ``state_table`` creates a fresh state table (from the CDK template)
and returns its name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

REGION = "us-east-1"
_SERVER_CODE = """
import sys
from werkzeug.serving import make_server
from moto.moto_server import werkzeug_app as w
app = w.DomainDispatcherApplication(w.create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=w.MotoRequestHandler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_moto_server() -> tuple[subprocess.Popen[str], str]:
    """Start the server on a free port (the OS picks it: safe per xdist worker)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER_CODE],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        raise RuntimeError(f"moto server did not start (said {line!r})")
    return proc, f"http://127.0.0.1:{line}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    proc, url = start_moto_server()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


def create_state_table(stage: str = "staging") -> str:
    """A fresh table shaped exactly like the stack's (AWS_ENDPOINT_URL must point at moto)."""
    import boto3

    from maxtrader import state_schema
    from tests.support.templates import create_table_kwargs

    name = f"state-{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", region_name=os.environ.get("AWS_DEFAULT_REGION", REGION))
    client.create_table(**create_table_kwargs(stage, name, state_schema.TABLE_LOGICAL_ID))
    return name


@pytest.fixture
def state_table(aws_env: str) -> str:
    return create_state_table()
