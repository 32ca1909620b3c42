"""The real relay feeding the ingest handler in process: ``InProcessIngest`` is the relay's
``Poster``, turning each signed POST into the Function URL event AWS would deliver, and
``relay_into`` starts a relay on the stream emulator that posts there."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from functions.ingest import handler
from maxtrader.emulators.massive_stream import MassiveStreamEmulator
from maxtrader.relay import Relay, RelaySettings
from maxtrader.webhook import SIGNATURE_HEADER
from tests.support.ingest_events import SECRET, LambdaContext, function_url_event
from tests.support.relay_harness import WAIT, Gate, RunningRelay

INGEST_URL = "https://abc.lambda-url.us-east-1.on.aws/"


class InProcessIngest:
    """The relay's ``Poster``: each POST becomes a Function URL event for the handler."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self._changed = threading.Condition()

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        lowered = {k.lower(): v for k, v in headers.items()}
        signature = lowered.pop(SIGNATURE_HEADER.lower())
        event = function_url_event(body, signature=signature, headers=lowered)
        response = handler.lambda_handler(event, LambdaContext())
        with self._changed:
            self.answers.append((response["statusCode"], json.loads(response["body"])))
            self._changed.notify_all()
        return response["statusCode"], response["body"]

    def accepted(self) -> int:
        return sum(a.get("accepted", 0) for s, a in self.answers if s == 200)

    def wait_for(self, condition: Callable[[], bool]) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout=WAIT)


def relay_into(
    ingest: InProcessIngest, stream: MassiveStreamEmulator, *, api_key: str,
    unix_time: Callable[[], float],
) -> RunningRelay:  # fmt: skip
    """A relay of SPY and QQQ from ``stream`` to ``ingest``, signing at ``unix_time()``."""
    relay = Relay(
        RelaySettings(symbols=("SPY", "QQQ"), ingest_url=INGEST_URL, feed=stream.feed,
                      secure=False, linger_seconds=0),
        api_key=lambda force: api_key, ingest_secret=lambda force: SECRET, poster=ingest,
        sleep=Gate().sleep, rand=lambda: 0.5, unix_time=unix_time,
    )  # fmt: skip
    return RunningRelay(relay)
