"""Real-shaped Lambda events the simulator hands the functions it drives.

    push_event(bars, secret, at)        # the relay's signed POST to the ingest Function URL
    operator_event("POST", "/engage", body, arn, at)   # an IAM-signed kill-switch request

The push body is the vendor's own AM events (what the relay forwards), signed with the relay's
code (``maxtrader.webhook.sign``) at the instant it is sent. The operator event carries the IAM
authorizer block a Function URL with ``AWS_IAM`` auth adds after checking the SigV4 signature.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from maxtrader.domain.models import Bar
from maxtrader.webhook import SIGNATURE_HEADER, sign

MINUTE_MS = 60_000
OPERATOR_ARN = "arn:aws:iam::123456789012:user/simulate-operator"


def am_event(bar: Bar) -> dict[str, Any]:
    """The vendor's AM message for ``bar`` (the day totals are plausible, not accumulated)."""
    start = int(bar.ts.timestamp() * 1000)
    vwap = bar.vwap if bar.vwap is not None else round((bar.high + bar.low + bar.close) / 3, 4)
    return {
        "ev": "AM",
        "sym": bar.symbol,
        "v": bar.volume,
        "av": bar.volume * 10,
        "op": bar.open,
        "vw": vwap,
        "o": bar.open,
        "c": bar.close,
        "h": bar.high,
        "l": bar.low,
        "a": vwap,
        "z": 100,
        "s": start,
        "e": start + MINUTE_MS,
    }


def _url_event(  # noqa: PLR0917 - the parts of one request
    method: str,
    path: str,
    body: str,
    headers: dict[str, str],
    at: datetime,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "accountId": "anonymous" if authorizer is None else "123456789012",
        "apiId": "simulate",
        "domainName": "simulate.lambda-url.us-east-1.on.aws",
        "domainPrefix": "simulate",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "maxtrader-simulate",
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(at.timestamp() * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "simulate.lambda-url.us-east-1.on.aws",
            "content-length": str(len(body.encode())),
            **headers,
        },
        "requestContext": context,
        "body": body,
        "isBase64Encoded": False,
    }


def push_event(bars: Sequence[Bar], secret: str, at: datetime) -> dict[str, Any]:
    body = json.dumps([am_event(b) for b in bars], separators=(",", ":"))
    signature = sign(body.encode(), secret, int(at.timestamp()))
    return _url_event("POST", "/", body, {SIGNATURE_HEADER.lower(): signature}, at, None)


def operator_event(
    method: str, path: str, body: Any, at: datetime, *, arn: str = OPERATOR_ARN
) -> dict[str, Any]:
    iam = {
        "accessKey": "ASIASIMULATESIMULATE",
        "accountId": "123456789012",
        "callerId": "AIDASIMULATE:operator",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": arn,
        "userId": "AIDASIMULATE",
    }
    text = "" if body is None else json.dumps(body)
    return _url_event(method, path, text, {}, at, {"iam": iam})


def status_of(answer: Any) -> int:
    """A Function URL answer's status (500 when the answer is not one)."""
    if isinstance(answer, dict) and isinstance(answer.get("statusCode"), int):
        return int(answer["statusCode"])
    return 500
