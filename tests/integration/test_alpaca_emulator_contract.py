"""The emulator against Alpaca's recorded answers: same keys, same JSON types, same refusals.

Spoken to over plain HTTP (not through alpaca-py), so the wire itself is checked: if the emulator
drifted into a friendlier broker (a missing field, a number where Alpaca sends a string), these
tests fail even where alpaca-py would have been lenient.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from maxtrader.domain.clock import FixedClock
from maxtrader.emulators.alpaca import AlpacaEmulator
from tests.support.alpaca_env import (
    KEY,
    SECRET,
    bar,
    contract,
    minute,
    recorded,
)

pytest_plugins = ("tests.support.alpaca_fixtures",)  # the alpaca fixture
HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_same_shape(actual: Any, expected: Any, path: str = "$") -> None:
    """Same keys at every level, same JSON types; a recorded null allows null or a string."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {_kind(actual)}"
        missing, extra = set(expected) - set(actual), set(actual) - set(expected)
        assert not missing and not extra, (
            f"{path}: missing {sorted(missing)}, extra {sorted(extra)}"
        )
        for key, value in expected.items():
            assert_same_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected an array, got {_kind(actual)}"
        for i, item in enumerate(actual):
            model = expected[i] if len(expected) == len(actual) else expected[0]
            assert_same_shape(item, model, f"{path}[{i}]")
    elif expected is None:
        assert actual is None or isinstance(actual, str), f"{path}: got {_kind(actual)}"
    else:
        assert _kind(actual) == _kind(expected), f"{path}: {_kind(actual)}, not {_kind(expected)}"


def call(emulator: AlpacaEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, emulator.base_url + path, headers=HEADERS, timeout=5, **kwargs)


def market(cid: str, **fields: Any) -> dict[str, Any]:
    body = {"symbol": "SPY", "qty": "2", "side": "buy", "type": "market", "time_in_force": "day"}
    return {**body, "client_order_id": cid, **fields}


def test_account_clock_and_calendar_answer_as_alpaca_does(alpaca: AlpacaEmulator) -> None:
    assert_same_shape(call(alpaca, "GET", "/v2/account").json(), recorded("account.json"))
    assert_same_shape(call(alpaca, "GET", "/v2/clock").json(), recorded("clock.json"))
    days = call(alpaca, "GET", "/v2/calendar", params={"start": "2024-06-03", "end": "2024-06-04"})
    assert [d["date"] for d in days.json()] == ["2024-06-03", "2024-06-04"]
    assert_same_shape(days.json(), recorded("calendar.json"))


def test_orders_answer_as_alpaca_does(alpaca: AlpacaEmulator) -> None:
    placed = call(alpaca, "POST", "/v2/orders", json=market("plain"))
    assert placed.status_code == 200
    assert_same_shape(placed.json(), recorded("order.json"))
    bracket = market(
        "bracketed",
        order_class="bracket",
        take_profit={"limit_price": "505"},
        stop_loss={"stop_price": "495"},
    )
    call(alpaca, "POST", "/v2/orders", json=bracket)
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    found = call(
        alpaca, "GET", "/v2/orders:by_client_order_id", params={"client_order_id": "bracketed"}
    )
    assert_same_shape(found.json(), recorded("order_bracket.json"))
    by_id = call(alpaca, "GET", f"/v2/orders/{found.json()['id']}")
    assert by_id.json() == found.json()
    listed = call(alpaca, "GET", "/v2/orders", params={"status": "all", "nested": "true"})
    assert [o["client_order_id"] for o in listed.json()] == ["bracketed", "plain"]  # newest first


def test_positions_and_options_answer_as_alpaca_does(alpaca: AlpacaEmulator) -> None:
    call(alpaca, "POST", "/v2/orders", json=market("p"))
    alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500)))
    [held] = call(alpaca, "GET", "/v2/positions").json()
    assert_same_shape(held, recorded("position.json"))
    assert (held["qty"], held["avg_entry_price"], held["side"]) == ("2", "500", "long")
    listed = contract(500.0)
    alpaca.list_option(listed)
    alpaca.set_option_quote(listed.symbol, bid=1.05, ask=1.15)
    page = call(alpaca, "GET", "/v2/options/contracts", params={"underlying_symbols": "SPY"})
    assert_same_shape(page.json(), recorded("option_contracts.json"))
    quotes = call(
        alpaca, "GET", "/v1beta1/options/quotes/latest", params={"symbols": listed.symbol}
    )
    recorded_quotes = recorded("option_quotes_latest.json")["quotes"]
    assert_same_shape(quotes.json()["quotes"][listed.symbol], next(iter(recorded_quotes.values())))


def test_cancels_and_closes_answer_as_alpaca_does(
    alpaca: AlpacaEmulator, alpaca_clock: FixedClock
) -> None:
    resting = call(alpaca, "POST", "/v2/orders", json=market("rest-1", type="limit",
                                                                limit_price="400"))  # fmt: skip
    canceled = call(alpaca, "DELETE", f"/v2/orders/{resting.json()['id']}")
    assert (canceled.status_code, canceled.content) == (204, b"")
    again = call(alpaca, "DELETE", f"/v2/orders/{resting.json()['id']}")
    assert again.status_code == 422 and set(again.json()) == {"code", "message"}
    other = call(alpaca, "POST", "/v2/orders", json=market("rest-2", type="limit",
                                                              limit_price="400"))  # fmt: skip
    all_canceled = call(alpaca, "DELETE", "/v2/orders")
    assert all_canceled.status_code == 207
    assert_same_shape(all_canceled.json(), recorded("cancel_all_orders.json"))
    assert [a["id"] for a in all_canceled.json()] == [other.json()["id"]]

    for symbol in ("SPY", "QQQ"):
        call(alpaca, "POST", "/v2/orders", json=market(f"buy-{symbol}", symbol=symbol))
        alpaca.feed_bar(bar(minute(0), (500, 501, 499, 500), symbol))
    assert_same_shape(call(alpaca, "GET", "/v2/positions/SPY").json(), recorded("position.json"))
    closing = call(alpaca, "DELETE", "/v2/positions/SPY")
    assert closing.status_code == 200
    assert_same_shape(closing.json(), recorded("order.json"))
    assert (closing.json()["side"], closing.json()["qty"]) == ("sell", "2")
    alpaca_clock.advance(60)
    alpaca.feed_bar(bar(minute(1), (500, 501, 499, 500)))  # SPY's closing order fills
    closed = call(alpaca, "DELETE", "/v2/positions", params={"cancel_orders": "true"})
    assert closed.status_code == 207
    assert_same_shape(closed.json(), recorded("close_all_positions.json"))
    assert [(c["symbol"], c["status"]) for c in closed.json()] == [("QQQ", 200)]


def test_refusals_carry_alpacas_status_and_body(alpaca: AlpacaEmulator) -> None:
    assert call(alpaca, "POST", "/v2/orders", json=market("once")).status_code == 200
    again = call(alpaca, "POST", "/v2/orders", json=market("once"))
    assert again.status_code == 422
    assert again.json() == recorded("error_duplicate_client_order_id.json")
    missing = call(alpaca, "GET", "/v2/orders:by_client_order_id", params={"client_order_id": "x"})
    assert missing.status_code == 404 and missing.json() == recorded("error_not_found.json")
    no_keys = requests.get(alpaca.base_url + "/v2/account", timeout=5)
    assert no_keys.status_code == 401
    assert len(alpaca.orders()) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 422),
        ({"symbol": "SPY", "qty": "2", "side": "buy", "type": "market"}, 422),  # no time_in_force
        ({**market("tiny"), "type": "limit", "limit_price": "500.001"}, 422),
    ],
)
def test_bad_order_bodies_are_refused_without_an_order(
    alpaca: AlpacaEmulator, body: Any, status: int
) -> None:
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}
    refused = call(alpaca, "POST", "/v2/orders", **kwargs)
    assert refused.status_code == status and set(refused.json()) == {"code", "message"}
    assert alpaca.orders() == []
