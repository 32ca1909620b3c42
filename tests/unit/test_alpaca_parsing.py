"""Alpaca's answers -> domain models: recorded ones parse; anything else is BrokerResponseError."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxtrader.adapters.alpaca_errors import KeyRefusedError, _from_api_error
from maxtrader.adapters.alpaca_parsing import (
    parse_account,
    parse_clock,
    parse_contracts_page,
    parse_order,
    parse_position,
    parse_quotes,
)
from maxtrader.adapters.alpaca_requests import tick as _tick
from maxtrader.domain.broker import BrokerOrderStatus, OrderType
from maxtrader.domain.errors import (
    BrokerRejectedError,
    BrokerResponseError,
    BrokerUnavailableError,
    DuplicateClientOrderIdError,
)
from maxtrader.domain.models import Instrument
from tests.support.alpaca_env import recorded


def test_recorded_answers_parse_into_the_domain_models() -> None:
    account = parse_account(recorded("account.json"), paper=True)
    assert (account.equity, account.cash, account.buying_power) == (103820.56, -23140.2, 262113.632)
    assert account.active and not account.flags.blocked and account.paper
    clock = parse_clock(recorded("clock.json"))
    assert clock.is_open and clock.timestamp.utcoffset() is not None
    order = parse_order(recorded("order.json"))
    assert (order.symbol, order.qty, order.type, order.status) == (
        "AAPL",
        2,
        OrderType.MARKET,
        BrokerOrderStatus.PENDING,
    )
    bracket = parse_order(recorded("order_bracket.json"))
    assert bracket.status is BrokerOrderStatus.FILLED and bracket.filled_avg_price == 120.5
    assert [(leg.type, leg.status) for leg in bracket.legs] == [
        (OrderType.LIMIT, BrokerOrderStatus.OPEN),
        (OrderType.STOP, BrokerOrderStatus.OPEN),
    ]
    assert (bracket.legs[0].limit_price, bracket.legs[1].stop_price) == (125.0, 118.0)
    position = parse_position(recorded("position.json"))
    assert (position.symbol, position.qty, position.avg_entry_price) == ("AAPL", 5, 100.0)
    assert position.market_price == 120.0 and position.instrument is Instrument.EQUITY
    contracts, token = parse_contracts_page(
        recorded("option_contracts.json"), underlying="AAPL", expiry=date(2023, 11, 3)
    )
    assert token is None and [(c.symbol, c.strike) for c in contracts] == [
        ("AAPL231103C00170000", 170.0)
    ]
    quotes = parse_quotes(recorded("option_quotes_latest.json")["quotes"], ["AAPL240126P00050000"])
    bid, ask, at = quotes["AAPL240126P00050000"]
    assert (bid, ask) == (0.05, 0.06) and at.utcoffset() is not None


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("accepted", "0", BrokerOrderStatus.PENDING),
        ("pending_new", "0", BrokerOrderStatus.PENDING),
        ("held", "0", BrokerOrderStatus.PENDING),
        ("new", "0", BrokerOrderStatus.OPEN),
        ("pending_cancel", "0", BrokerOrderStatus.OPEN),
        ("done_for_day", "0", BrokerOrderStatus.OPEN),
        ("partially_filled", "1", BrokerOrderStatus.PARTIALLY_FILLED),
        ("new", "1", BrokerOrderStatus.PARTIALLY_FILLED),
        ("calculated", "2", BrokerOrderStatus.FILLED),
        ("filled", "2", BrokerOrderStatus.FILLED),
        ("canceled", "0", BrokerOrderStatus.CANCELED),
        ("expired", "1", BrokerOrderStatus.CANCELED),
        ("replaced", "0", BrokerOrderStatus.CANCELED),
        ("rejected", "0", BrokerOrderStatus.REJECTED),
    ],
)
def test_alpaca_statuses_map_onto_the_domain_kinds(
    status: str, filled: str, expected: BrokerOrderStatus
) -> None:
    raw = {**recorded("order.json"), "status": status, "filled_qty": filled}
    if filled != "0":
        raw["filled_avg_price"] = "101.5"
    assert parse_order(raw).status is expected


def test_every_status_alpaca_py_knows_is_mapped() -> None:
    from alpaca.trading.enums import OrderStatus

    from maxtrader.adapters.alpaca_parsing import _STATUS

    assert set(OrderStatus) == set(_STATUS)  # a new one must be placed here deliberately


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"qty": "1.5"}, "qty"),
        ({"qty": None, "notional": "500"}, "qty"),
        ({"status": "teleported"}, "status"),
        ({"type": "trailing_stop", "order_type": "trailing_stop"}, "type"),
        ({"submitted_at": "2021-03-16T18:38:01"}, "submitted_at"),
        ({"filled_qty": "3"}, "filled_qty"),
        ({"filled_qty": "1", "filled_avg_price": None}, "filled_avg_price"),
        ({"asset_class": "crypto"}, "asset_class"),
        ({"id": "not-a-uuid"}, "id"),
    ],
)
def test_an_order_of_unexpected_shape_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BrokerResponseError, match=field):
        parse_order({**recorded("order.json"), **change})


def test_answers_that_are_not_objects_or_miss_flags_are_rejected() -> None:
    with pytest.raises(BrokerResponseError, match="expected a JSON object"):
        parse_order(["not", "an", "order"])
    account = recorded("account.json")
    del account["trading_blocked"]
    with pytest.raises(BrokerResponseError, match="trading_blocked: missing"):
        parse_account(account, paper=True)
    with pytest.raises(BrokerResponseError, match="not a contract of SPY"):
        parse_contracts_page(
            recorded("option_contracts.json"), underlying="SPY", expiry=date(2023, 11, 3)
        )
    with pytest.raises(BrokerResponseError, match="not asked for"):
        parse_quotes(recorded("option_quotes_latest.json")["quotes"], ["SPY240605C00500000"])


def test_a_short_position_is_negative_whichever_sign_alpaca_writes() -> None:
    for qty in ("-5", "5"):
        raw = {**recorded("position.json"), "qty": qty, "side": "short"}
        assert parse_position(raw).qty == -5
    with pytest.raises(BrokerResponseError, match="negative"):
        parse_position({**recorded("position.json"), "qty": "-5", "side": "long"})


DUPLICATE = "client_order_id must be unique"


def _api_error(status: int, body: str) -> APIError:
    response = requests.Response()
    response.status_code = status
    return APIError(body, requests.HTTPError(response=response))  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (422, f'{{"code": 40010001, "message": "{DUPLICATE}"}}', DuplicateClientOrderIdError),
        (422, '{"code": 40010001, "message": "qty must be > 0"}', BrokerRejectedError),
        (403, '{"code": 40310000, "message": "insufficient buying power"}', BrokerRejectedError),
        (404, '{"code": 40410000, "message": "order not found"}', BrokerRejectedError),
        (429, '{"code": 42910000, "message": "rate limit exceeded"}', BrokerUnavailableError),
        (500, '{"code": 50010000, "message": "internal error"}', BrokerUnavailableError),
        (502, "<html><body>Bad Gateway</body></html>", BrokerUnavailableError),
        (404, "Not Found", BrokerRejectedError),
        (401, '{"code": 40110000, "message": "request is not authorized"}', KeyRefusedError),
        (401, "Unauthorized", KeyRefusedError),  # a refused key, whatever the body
        (403, '{"message": "forbidden"}', KeyRefusedError),  # a key not taken here
        (403, '{"message": "insufficient qty available"}', BrokerRejectedError),
    ],
)  # fmt: skip
def test_api_errors_become_broker_error_kinds_even_with_a_non_json_body(
    status: int, body: str, kind: type[Exception]
) -> None:
    error = _api_error(status, body)
    if not body.startswith("{"):
        with pytest.raises(ValueError):  # the trap this mapping avoids
            _ = error.code
    mapped = _from_api_error("submit 'x'", error)
    assert type(mapped) is kind and mapped.status == status
    assert str(status) in str(mapped)


def test_a_parsed_error_code_is_kept() -> None:
    mapped = _from_api_error("submit", _api_error(403, '{"code": 40310000, "message": "no"}'))
    assert mapped.code == 40310000 and not mapped.may_have_reached_broker


@pytest.mark.parametrize(
    ("price", "instrument", "sent"),
    [
        (495.004, Instrument.EQUITY, 495.0),
        (505.125, Instrument.EQUITY, 505.13),
        (0.12345, Instrument.EQUITY, 0.1235),
        (0.375, Instrument.OPTION, 0.38),
        (1.1, Instrument.OPTION, 1.1),
    ],
)
def test_prices_are_rounded_to_alpacas_tick(
    price: float, instrument: Instrument, sent: float
) -> None:
    assert _tick(price, instrument) == sent


# --- fuzz: a mutated body never yields an unvalidated model ----------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
PARSERS: dict[str, Callable[[Any], Any]] = {
    "order.json": parse_order,
    "order_bracket.json": parse_order,
    "position.json": parse_position,
    "account.json": lambda raw: parse_account(raw, paper=True),
    "clock.json": parse_clock,
    "option_contracts.json": lambda raw: parse_contracts_page(
        raw, underlying="AAPL", expiry=date(2023, 11, 3)
    ),
    "option_quotes_latest.json": lambda raw: parse_quotes(
        raw.get("quotes") if isinstance(raw, dict) else raw, ["AAPL240126P00050000"]
    ),
}


def _mutate(body: Any, data: st.DataObject) -> Any:
    body = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(1, 3))):
        target = body
        while isinstance(target, dict) and target and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(target)))
            if not isinstance(target[key], dict | list):
                break
            nested = target[key]
            target = nested[0] if isinstance(nested, list) and nested else nested
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target)))
            if data.draw(st.booleans()):
                del target[key]
            else:
                target[key] = data.draw(json_values)
    return body


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(PARSERS)), data=st.data())
def test_mutated_answers_give_a_valid_model_or_a_broker_response_error(
    name: str, data: st.DataObject
) -> None:
    body = _mutate(recorded(name), data)
    try:
        parsed = PARSERS[name](body)
    except BrokerResponseError:
        return
    if name.startswith("option_contracts"):
        contracts, _ = parsed
        assert all(c.underlying == "AAPL" and c.strike > 0 for c in contracts)
        return
    if name.startswith("option_quotes"):
        assert all(b >= 0 and a >= 0 and t.utcoffset() is not None for b, a, t in parsed.values())
        return
    # whatever got through is a complete, valid domain model, consistent with the body
    assert type(parsed).model_validate(parsed.model_dump()) == parsed
    if name.startswith("order"):
        assert (
            parsed.qty == float(body["qty"]) and parsed.client_order_id == body["client_order_id"]
        )
    if name == "account.json":
        assert parsed.equity == float(body["equity"])
