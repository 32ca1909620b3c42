"""Market data from Massive (formerly Polygon.io) over the vendor's own ``massive.RESTClient``.

    md = MassiveMarketData(api_key, base_url="https://api.massive.com")
    md.minute_bars("SPY", date(2024, 3, 26), date(2024, 3, 27)) -> list[Bar]   # incl. ext. hours
    md.daily_bars("SPY", start, end) -> list[Bar]
    md.aggregates(symbol, multiplier, timespan, start, end) -> list[Bar]
    md.vix_daily(start, end) -> dict[date, float]                # "I:VIX" daily closes
    md.latest_vix() -> VixReading | None                         # the index snapshot

It implements the core's ``MarketData`` port (``domain/ports.py``).

``start``/``end`` are dates (whole New York days, both inclusive, as the vendor reads them) or
aware datetimes, read as the port does: the bars with ``start <= ts < end``. Prices are
unadjusted by default: orders are placed at raw prices. Bars come back sorted and validated;
filter them to regular hours with ``load_bars`` or the calendar. A minute that has not closed
yet is the caller's to leave out (an ``end`` at or before the current minute's start).

``latest_vix`` reads the vendor's index snapshot (``/v3/snapshot/indices``): the value with the
time it was true (``last_updated``), not the time it was fetched, so the freshness checks of the
core judge its age. None when the vendor has no value for the index.

The client does the HTTP, the authentication, the URL building and the retries (429/5xx with
backoff). Pages are followed here, one raw page at a time, because the client's own iterator
logs and silently stops on an undecodable page, which would truncate the data without a word.

The key is a string or a key source, ``source(force_fetch) -> key`` (the functions pass one over
Powertools' cached ``SecretsProvider``: ``runtime/factory.py``). A source is asked before each
request, so a rotated key is taken up once the cache's ``max_age`` has passed; and when the vendor
refuses a request (the client's ``BadResponse`` does not say whether for the key) it is asked
again with ``force_fetch=True``, at most once per ``key_refresh_interval_seconds``: a key that
changed rebuilds the client and the request is sent once more, so a rotation is picked up at the
first refusal instead of after ``max_age``. A key that could not be re-read while one is held
keeps the held one.

Every failure is a ``DataError``: a missing or rejected key, an unreachable or failing server
(after the client's retries), a non-JSON page, an aggregate of the wrong shape, a pagination loop,
a snapshot without a finite positive value or its time. A key source that cannot be read when no
key is held (building the adapter) raises its own error (``SecretUnavailableError``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

import massive
import urllib3
from pydantic import ValidationError

from maxtrader.adapters.rotating_key import KEY_REFRESH_INTERVAL_SECONDS, RotatingKey
from maxtrader.data.vix import vix_closes_from_bars
from maxtrader.domain.errors import DataError
from maxtrader.domain.models import Bar
from maxtrader.domain.ports import VixReading

DEFAULT_BASE_URL = "https://api.massive.com"
VIX = "I:VIX"
PAGE_LIMIT = 50_000  # the vendor's maximum page size
MAX_PAGES = 10_000
_TIMESPAN_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_OK_STATUSES = {"OK", "DELAYED"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KeySource = Callable[[bool], str]  # force_fetch -> the current API key


@dataclass(frozen=True, slots=True)
class _Query:
    symbol: str
    multiplier: int
    timespan: str
    minutes: int

    @property
    def what(self) -> str:
        return f"{self.symbol} {self.multiplier} {self.timespan} aggregates"


class MassiveMarketData:
    def __init__(
        self,
        api_key: str | KeySource,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retries: int = 3,
        timeout: float = 10.0,
        page_limit: int = PAGE_LIMIT,
        key_refresh_interval_seconds: float = KEY_REFRESH_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < page_limit <= PAGE_LIMIT:
            raise DataError(f"page_limit must be in 1..{PAGE_LIMIT}, not {page_limit}")
        self.base_url = base_url.rstrip("/")
        self.page_limit = page_limit
        self._retries, self._timeout = retries, timeout
        source: KeySource = api_key if callable(api_key) else (lambda _force: api_key)
        self._keys = RotatingKey(
            source,
            _required_key,
            refresh_interval_seconds=key_refresh_interval_seconds,
            monotonic=monotonic,
        )
        self._client: Any = None
        self._use_key(self._keys.current)

    def minute_bars(
        self, symbol: str, start: date | datetime, end: date | datetime, *, adjusted: bool = False
    ) -> list[Bar]:
        return self.aggregates(symbol, 1, "minute", start, end, adjusted=adjusted)

    def daily_bars(
        self, symbol: str, start: date | datetime, end: date | datetime, *, adjusted: bool = False
    ) -> list[Bar]:
        return self.aggregates(symbol, 1, "day", start, end, adjusted=adjusted)

    def vix_daily(self, start: date | datetime, end: date | datetime) -> dict[date, float]:
        """Daily VIX closes by New York date (the index's daily aggregates)."""
        return vix_closes_from_bars(self.daily_bars(VIX, start, end))

    def aggregates(
        self,
        symbol: str,
        multiplier: int,
        timespan: str,
        start: date | datetime,
        end: date | datetime,
        *,
        adjusted: bool = False,
    ) -> list[Bar]:
        if timespan not in _TIMESPAN_MINUTES:
            raise DataError(f"timespan {timespan!r} is not one of {', '.join(_TIMESPAN_MINUTES)}")
        minutes = multiplier * _TIMESPAN_MINUTES[timespan]
        if not 0 < minutes <= 1440:
            raise DataError(f"{multiplier} {timespan} bars are longer than a day")
        first, last = _wire(start), _wire(end, exclusive=True)  # refuses naive datetimes
        if type(start) is type(end) and start > end:
            raise DataError(f"start {start} is after end {end}")
        if isinstance(start, datetime) and isinstance(end, datetime) and start == end:
            return []  # an empty half-open range: nothing to ask
        query = _Query(symbol, multiplier, timespan, minutes)
        what = query.what
        request: tuple[str, str, dict[str, Any]] = (
            first,
            last,
            {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": self.page_limit},
        )
        by_ts: dict[datetime, Bar] = {}
        seen: set[tuple[str, str, str]] = set()
        for page in range(1, MAX_PAGES + 1):
            from_, to, params = request
            body = self._page(query, from_, to, params)
            for index, item in enumerate(_results(what, page, body)):
                bar = _to_bar(query, page, index, item)
                by_ts[bar.ts] = bar
            next_url = body.get("next_url")
            if not next_url:
                return [by_ts[ts] for ts in sorted(by_ts)]
            request = _next_request(what, str(next_url))
            key = (request[0], request[1], json.dumps(request[2], sort_keys=True))
            if key in seen:
                raise DataError(f"{what}: the server's next_url repeats itself ({next_url})")
            seen.add(key)
        raise DataError(f"{what}: more than {MAX_PAGES} pages")

    def latest_vix(self) -> VixReading | None:
        what = f"{VIX} snapshot"
        body = self._get(what, lambda: self._client.get_snapshot_indices([VIX], raw=True))
        entry = next(
            (r for r in _results(what, 1, body) if isinstance(r, dict) and r.get("ticker") == VIX),
            None,
        )
        if entry is None or entry.get("error") == "NOT_FOUND":
            return None
        if entry.get("error"):
            raise DataError(f"{what}: {entry['error']}: {entry.get('message', '')}".rstrip(": "))
        value: Any = entry.get("value")
        stamp: Any = entry.get("last_updated")
        if not _is_number(value) or not math.isfinite(value) or value <= 0:
            raise DataError(f"{what}: 'value' is not a finite positive number: {value!r}")
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp <= 0:
            raise DataError(f"{what}: 'last_updated' is not epoch nanoseconds: {stamp!r}")
        try:
            observed = _EPOCH + timedelta(microseconds=stamp // 1000)
        except OverflowError:
            raise DataError(f"{what}: 'last_updated' is out of range: {stamp!r}") from None
        return VixReading(value=float(value), observed_at=observed)

    def _page(self, query: _Query, from_: str, to: str, params: dict[str, Any]) -> dict[str, Any]:
        # A copy: the client writes its own query parameters into the dict it is given.
        return self._get(
            query.what,
            lambda: self._client.list_aggs(
                query.symbol,
                query.multiplier,
                query.timespan,
                from_,
                to,
                params={**params},
                raw=True,
            ),
        )

    # --- the key ------------------------------------------------------------------------------
    def _use_key(self, key: str) -> None:
        self._client = massive.RESTClient(
            api_key=key,
            base=self.base_url,
            retries=self._retries,
            connect_timeout=self._timeout,
            read_timeout=self._timeout,
            pagination=False,
        )

    def _refresh_key(self) -> None:
        """The source's current key (cached for its ``max_age``); the held one if unreadable."""
        if self._keys.refreshed():
            self._use_key(self._keys.current)

    def _key_rotated(self) -> bool:
        """After a refusal: re-read the key through the cache (rate-limited); did it change?"""
        if not self._keys.rotated_after_refusal():
            return False
        self._use_key(self._keys.current)
        return True

    # --- requests -----------------------------------------------------------------------------
    def _get(self, what: str, call: Callable[[], Any]) -> dict[str, Any]:
        """One raw request through the client -> its JSON object; every failure a DataError."""
        self._refresh_key()
        try:
            response = self._send(what, call)
        except _RefusedError:
            if not self._key_rotated():
                raise
            response = self._send(what, call)  # once more, with the rotated key
        return _json_body(what, response)

    def _send(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except massive.AuthError as exc:
            raise DataError(f"{what}: no API key: {exc}") from exc
        except massive.BadResponse as exc:
            raise _RefusedError(f"{what}: the server refused: {_reason(str(exc))}") from exc
        except urllib3.exceptions.MaxRetryError as exc:
            raise DataError(f"{what}: {self.base_url} failed after retries: {exc.reason}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise DataError(f"{what}: {self.base_url} failed: {exc}") from exc


class _RefusedError(DataError):
    """The vendor answered with an error status (a refused key among them)."""


def _json_body(what: str, response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{what}: the server's answer is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise DataError(f"{what}: the server's answer is a {type(body).__name__}, not an object")
    status = body.get("status")
    if status is not None and status not in _OK_STATUSES:
        raise DataError(f"{what}: status {status}: {_reason(json.dumps(body))}")
    return body


def _wire(when: date | datetime, *, exclusive: bool = False) -> str:
    """A date as YYYY-MM-DD, an instant as epoch milliseconds (the vendor takes both, and reads
    both as inclusive: an exclusive instant is sent as the millisecond before it)."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise DataError(f"naive datetime {when.isoformat()}: give a timezone")
        ms = (when.astimezone(UTC) - _EPOCH) // timedelta(milliseconds=1)
        return str(ms - 1 if exclusive else ms)
    return when.isoformat()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _next_request(what: str, next_url: str) -> tuple[str, str, dict[str, Any]]:
    """next_url -> (from, to, query): the path carries from/to, the query a cursor."""
    parsed = urlparse(next_url)
    parts = [unquote(p) for p in parsed.path.split("/")]
    # /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}
    if len(parts) < 9 or parts[1:4] != ["v2", "aggs", "ticker"]:
        raise DataError(f"{what}: unexpected next_url {next_url!r}")
    return parts[-2], parts[-1], dict(parse_qsl(parsed.query))


def _results(what: str, page: int, body: dict[str, Any]) -> list[Any]:
    results = body.get("results", [])  # the vendor omits "results" when there are none
    if not isinstance(results, list):
        raise DataError(f"{what}: page {page}: 'results' is not a list")
    return results


def _to_bar(query: _Query, page: int, index: int, item: Any) -> Bar:
    where = f"{query.what}: page {page}, result {index}"
    if not isinstance(item, dict):
        raise DataError(f"{where}: not an object")
    missing = [k for k in ("t", "o", "h", "l", "c") if item.get(k) is None]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
    t = item["t"]
    if not isinstance(t, int) or isinstance(t, bool):
        raise DataError(f"{where}: field 't' is not epoch milliseconds: {t!r}")
    try:
        return Bar(
            symbol=query.symbol,
            ts=_EPOCH + timedelta(milliseconds=t),
            open=item["o"],
            high=item["h"],
            low=item["l"],
            close=item["c"],
            volume=item.get("v") or 0.0,  # indices (I:VIX) have no volume
            minutes=query.minutes,
            vwap=item.get("vw"),
        )
    except (ValidationError, OverflowError) as exc:
        raise DataError(f"{where}: {_first_error(exc)}") from exc


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"field '{field}': {message}" if field else message
    return str(exc)


def _reason(body: str) -> str:
    """The vendor's error text from a JSON error body, else the body itself (shortened)."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return body[:200]
    if isinstance(decoded, dict):
        for key in ("error", "message", "status"):
            if decoded.get(key):
                return str(decoded[key])
    return body[:200]


def _required_key(key: str) -> str:
    if not key:
        raise DataError("no Massive API key (set MASSIVE_API_KEY or POLYGON_API_KEY)")
    return key
