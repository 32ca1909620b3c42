"""An option signal through the execute function (the production strategies trade options): the
chain and its latest quotes come from the emulator through the real alpaca-py clients, the order
is a limit buy at the ask of the nearest strike of the signal's right, on the nearest expiry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from maxtrader.domain.models import AuditKind, Direction, OptionRight
from maxtrader.domain.safety.state import TicketStatus
from maxtrader.emulators.alpaca import AlpacaEmulator
from tests.support.alpaca_env import contract
from tests.support.execute_harness import ExecuteStage, sqs_record
from tests.support.execution import OPTION_STRATEGIES, message

pytest_plugins = ("tests.support.alpaca_fixtures", "tests.support.execute_fixtures")


@pytest.fixture
def stage(execute_stage: ExecuteStage) -> ExecuteStage:
    """This module's ``stage``: each support plugin names its own (plugins are global, and three
    defined ``stage``: which one a module got depended on the collection order)."""
    return execute_stage


pytestmark = [
    pytest.mark.xdist_group("cdk"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
TODAY, LATER = date(2024, 6, 3), date(2024, 6, 5)
ASK = 2.05


def list_chain(emulator: AlpacaEmulator, *, quoted_ago: timedelta = timedelta(0)) -> None:
    """Strikes 499-501, calls and puts, today and two days out; every ask 2.05 except the
    distractors' (a cheaper later expiry, a cheaper far strike), which must not be chosen."""
    at = emulator.clock.now() - quoted_ago
    for expiry in (TODAY, LATER):
        for right in OptionRight:
            for strike in (499.0, 500.0, 501.0, 510.0):
                listed = contract(strike, right, expiry)
                emulator.list_option(listed)
                ask = ASK if expiry == TODAY and strike != 510.0 else 0.50
                emulator.set_option_quote(listed.symbol, bid=ask - 0.05, ask=ask, at=at)


@pytest.fixture
def options(stage: ExecuteStage, monkeypatch: pytest.MonkeyPatch) -> ExecuteStage:
    monkeypatch.setattr(stage.handler.factory, "strategies_config", lambda: OPTION_STRATEGIES)
    return stage


@pytest.mark.parametrize(("side", "right"), [(Direction.LONG, OptionRight.CALL),
                                             (Direction.SHORT, OptionRight.PUT)])  # fmt: skip
def test_an_option_signal_is_one_limit_buy_at_the_ask_of_the_nearest_contract(
    options: ExecuteStage, side: Direction, right: OptionRight
) -> None:
    list_chain(options.emulator)
    msg = message(side=side, decided_at=options.clock.now())
    assert options.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    coid = f"mt-{msg.signal.id}-entry"
    [order] = options.emulator.orders(coid)
    assert order["symbol"] == contract(500.0, right, TODAY).symbol
    assert (order["asset_class"], order["side"], order["type"]) == ("us_option", "buy", "limit")
    assert float(order["limit_price"]) == ASK and order["order_class"] == "simple"
    assert order["qty"] == "2"  # floor(the 500 budget / 205 a contract)
    # The chain was read from the broker: contracts of today's expiry, then their quotes.
    [listing] = [r for r in options.emulator.requests if r.route == "option_contracts"]
    assert listing.query["underlying_symbols"] == "SPY"
    assert listing.query["expiration_date"] == TODAY.isoformat()
    assert options.emulator.count("option_quotes") == 1
    ticket = options.store().ticket(coid)
    assert ticket is not None and ticket.status is TicketStatus.CONFIRMED
    assert ticket.broker_order_id == order["id"]
    commission = OPTION_STRATEGIES.options.option_commission
    assert ticket.max_loss == pytest.approx(2 * 205 + 2 * commission)  # the premium at risk


def test_a_chain_quoted_too_long_ago_is_not_traded(options: ExecuteStage) -> None:
    limit = options.config.execution.quote_max_age_seconds
    list_chain(options.emulator, quoted_ago=timedelta(seconds=limit + 1))
    msg = message(decided_at=options.clock.now())
    assert options.invoke(sqs_record(msg)) == {"batchItemFailures": []}
    assert options.emulator.count("submit_order") == 0
    assert options.store().ticket(f"mt-{msg.signal.id}-entry") is None  # nothing reserved
    [refusal] = [r for r in options.audit() if r.kind is AuditKind.NOT_SENT]
    assert refusal.detail["reason"] == "stale_quotes"
