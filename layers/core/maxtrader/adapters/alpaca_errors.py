"""alpaca-py's failures -> the core's BrokerError kinds (``domain/errors.py``).

    timeout, dropped connection, HTTP 5xx, 429        -> BrokerUnavailableError (may have acted)
    HTTP 401, or 403 {"message": "forbidden"}         -> KeyRefusedError (a BrokerRejectedError)
    HTTP 422 "client_order_id must be unique"         -> DuplicateClientOrderIdError (it exists)
    any other HTTP 4xx                                -> BrokerRejectedError (nothing was done)
    a body that is not JSON or not the expected shape -> BrokerResponseError

``APIError.code`` raises on a non-JSON body, so the body is parsed here, defensively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import TypeVar

import requests
from alpaca.common.exceptions import APIError

from maxtrader.domain.errors import (
    BrokerError,
    BrokerRejectedError,
    BrokerResponseError,
    BrokerUnavailableError,
    DuplicateClientOrderIdError,
)

T = TypeVar("T")
_DUPLICATE = re.compile(r"client[\s_-]?order[\s_-]?id must be unique", re.IGNORECASE)


def translated(what: str, call: Callable[[], T]) -> T:
    """Run one library call; every failure becomes a domain BrokerError."""

    try:
        return call()
    except APIError as exc:
        raise _from_api_error(what, exc) from exc
    except requests.exceptions.InvalidJSONError as exc:  # a 2xx body that is not JSON
        raise BrokerResponseError(f"{what}: the answer is not JSON") from exc
    except requests.Timeout as exc:
        raise BrokerUnavailableError(f"{what}: timed out") from exc
    except requests.ConnectionError as exc:
        raise BrokerUnavailableError(f"{what}: connection failed") from exc
    except requests.RequestException as exc:
        raise BrokerUnavailableError(f"{what}: {type(exc).__name__}") from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # a body alpaca-py's own unwrapping choked on (e.g. market data without its key)
        raise BrokerResponseError(f"{what}: unreadable answer ({type(exc).__name__})") from exc


def _from_api_error(what: str, exc: Exception) -> BrokerError:
    status = getattr(exc, "status_code", None)
    text = str(exc)
    code: int | None = None
    message = text[:300]
    try:  # not exc.code / exc.message: they raise on a non-JSON body
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        message = str(body.get("message", message))[:300]
    detail = f"{what}: HTTP {status}" + (f" [{code}]" if code else "") + f" {message}"
    if _key_refused(status, code, message):
        return KeyRefusedError(f"{detail} (the API key was refused)", status=status, code=code)
    if status is None or status >= 500 or status == 429:
        return BrokerUnavailableError(detail, status=status, code=code)
    if status == 422 and _DUPLICATE.search(message):
        return DuplicateClientOrderIdError(detail, status=status, code=code)
    return BrokerRejectedError(detail, status=status, code=code)


class KeyRefusedError(BrokerRejectedError):
    """Alpaca refused the API key: a certain reject (nothing was done), which may mean the key
    was rotated (AlpacaBroker re-reads the secret and sends the request once more)."""


def _key_refused(status: int | None, code: int | None, message: str) -> bool:
    # 401 (code 40110000 "request is not authorized"): unknown or wrong key. 403 without a code,
    # body {"message": "forbidden"}: a key Alpaca does not take on this endpoint (e.g. a live
    # key on paper). Other 403s carry a code (40310000: buying power, quantity) and are refusals
    # of the order, not of the key.
    return status == HTTPStatus.UNAUTHORIZED or (
        status == HTTPStatus.FORBIDDEN and code is None and message.strip().lower() == "forbidden"
    )
