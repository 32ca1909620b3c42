"""AlpacaBroker over the functions' Secrets Manager secret (moto server, Powertools' cache): a key
rotated while the broker is warm is taken up at the first refusal (one forced read, the request
sent once more), a key that is really wrong keeps failing clearly without flooding Secrets
Manager, a refused submit gives exactly one order, and no key value reaches a log line.
The real alpaca-py clients against the emulator."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import boto3
import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker
from maxtrader.adapters.alpaca_errors import KeyRefusedError
from maxtrader.adapters.alpaca_keys import KEY_REFRESH_INTERVAL_SECONDS, secret_key_source
from maxtrader.adapters.secrets import Secrets
from maxtrader.domain.broker import OrderRequest
from maxtrader.domain.errors import BrokerRejectedError, SecretUnavailableError
from maxtrader.domain.models import Instrument, OrderSide
from maxtrader.emulators.alpaca import AlpacaEmulator, Fault
from tests.support.alpaca_env import KEY, SECRET, TEST_TIMEOUT

pytest_plugins = ("tests.support.alpaca_fixtures",)  # the alpaca fixture
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NEW_KEY, NEW_SECRET = "rotated-key-id-7c1e", "rotated-secret-key-never-logged-90af"


class RecordingSecrets(Secrets):
    """Powertools' cached secrets, each read recorded (True: forced through the cache)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads: list[bool] = []

    def get(self, name: str, model: Any, *, force_fetch: bool = False) -> Any:
        self.reads.append(force_fetch)
        return super().get(name, model, force_fetch=force_fetch)

    @property
    def forced(self) -> int:
        return self.reads.count(True)


class Monotonic:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secret_name(aws_env: str) -> str:
    name = f"maxtrader/test/alpaca-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps({"key_id": KEY, "secret_key": SECRET})
    )
    return name


def put_secret(name: str, key_id: str, secret_key: str) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=name, SecretString=json.dumps({"key_id": key_id, "secret_key": secret_key})
    )


def rotate(alpaca: AlpacaEmulator, name: str) -> None:
    """The operator's rotation: Alpaca takes only the new pair, the secret holds it."""
    alpaca.api_key, alpaca.secret_key = NEW_KEY, NEW_SECRET
    put_secret(name, NEW_KEY, NEW_SECRET)


def broker_over(
    alpaca: AlpacaEmulator, secrets: Secrets, name: str, clock: Monotonic
) -> AlpacaBroker:
    return AlpacaBroker(
        secret_key_source(secrets, name),
        url_override=alpaca.base_url,
        timeout=TEST_TIMEOUT,
        sleep=lambda _s: None,
        monotonic=clock,
    )


def market_buy(cid: str) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid, symbol="SPY", side=OrderSide.BUY, qty=1,
        instrument=Instrument.EQUITY,
    )  # fmt: skip


def test_a_key_rotated_while_warm_is_taken_up_after_one_refusal_and_one_forced_read(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=300), Monotonic()
    broker = broker_over(alpaca, secrets, secret_name, clock)
    assert broker.account().equity == 100_000.0
    rotate(alpaca, secret_name)  # well within max_age: the cache still serves the old pair
    assert broker.account().equity == 100_000.0
    assert secrets.forced == 1
    assert alpaca.count("account") == 3  # accepted, refused (old key), sent once more
    assert broker.positions() == []  # the new pair stays in use: no refusal, no forced read
    assert (secrets.forced, alpaca.count("positions")) == (1, 1)


def test_a_key_that_is_really_wrong_fails_clearly_with_at_most_one_forced_read_a_minute(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=300), Monotonic()
    broker = broker_over(alpaca, secrets, secret_name, clock)
    alpaca.api_key, alpaca.secret_key = NEW_KEY, NEW_SECRET  # revoked; nobody updated the secret
    for _ in range(4):
        with pytest.raises(KeyRefusedError, match=r"HTTP 401 .*the API key was refused") as err:
            broker.account()
        assert isinstance(err.value, BrokerRejectedError) and err.value.status == 401
    assert secrets.forced == 1  # then the interval holds
    assert alpaca.count("account") == 4  # the same pair is never sent twice
    clock.now += KEY_REFRESH_INTERVAL_SECONDS - 1
    with pytest.raises(KeyRefusedError):
        broker.account()
    assert secrets.forced == 1
    clock.now += 1  # a minute since the forced read: the next refusal may re-read
    put_secret(secret_name, NEW_KEY, NEW_SECRET)
    assert broker.account().equity == 100_000.0
    assert secrets.forced == 2


def test_a_submit_refused_401_is_sent_once_more_with_the_new_key_and_gives_one_order(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=300), Monotonic()
    broker = broker_over(alpaca, secrets, secret_name, clock)
    rotate(alpaca, secret_name)
    placed = broker.submit(market_buy("mt-rotated-entry"))
    assert placed.client_order_id == "mt-rotated-entry"
    assert alpaca.count("submit_order") == 2  # the refused one and the one accepted
    orders = [o for o in alpaca.book.orders.values() if o.client_order_id == "mt-rotated-entry"]
    assert len(orders) == 1 and orders[0].id == placed.broker_order_id
    assert secrets.forced == 1


def test_a_submit_refused_again_after_the_re_read_is_not_sent_a_third_time(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=300), Monotonic()
    broker = broker_over(alpaca, secrets, secret_name, clock)
    alpaca.api_key, alpaca.secret_key = NEW_KEY, NEW_SECRET
    put_secret(secret_name, "another-key-id", "another-secret-alpaca-does-not-know")
    with pytest.raises(KeyRefusedError, match="submit 'mt-twice-entry': HTTP 401"):
        broker.submit(market_buy("mt-twice-entry"))
    assert (secrets.forced, alpaca.count("submit_order")) == (1, 2)  # once more, then no more
    assert not alpaca.book.orders


def test_only_a_refused_key_forces_a_read_a_refused_order_does_not(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=300), Monotonic()
    broker = broker_over(alpaca, secrets, secret_name, clock)
    buying_power = '{"code": 40310000, "message": "insufficient buying power"}'
    alpaca.inject("submit_order", Fault.body(403, buying_power))
    with pytest.raises(BrokerRejectedError, match="insufficient buying power") as refused:
        broker.submit(market_buy("mt-poor-entry"))
    assert not isinstance(refused.value, KeyRefusedError)
    assert (secrets.forced, alpaca.count("submit_order")) == (0, 1)
    # Alpaca's other answer to a key it does not take: 403 {"message": "forbidden"}, no code.
    alpaca.inject("account", Fault.body(403, '{"message": "forbidden"}'))
    with pytest.raises(KeyRefusedError, match="HTTP 403 forbidden"):
        broker.account()  # the secret holds the same pair: re-read once, nothing sent again
    assert (secrets.forced, alpaca.count("account")) == (1, 1)


def test_a_secret_that_cannot_be_re_read_keeps_the_pair_held(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=0), Monotonic()  # every read goes out
    broker = broker_over(alpaca, secrets, secret_name, clock)
    boto3.client("secretsmanager").delete_secret(
        SecretId=secret_name, ForceDeleteWithoutRecovery=True
    )
    assert broker.account().equity == 100_000.0  # the held pair still works
    alpaca.secret_key = NEW_SECRET
    with pytest.raises(KeyRefusedError):  # the refusal is reported, not the re-read's failure
        broker.account()
    assert secrets.forced == 1
    with pytest.raises(SecretUnavailableError, match="no such secret"):  # none held yet
        broker_over(alpaca, secrets, secret_name, clock)


def test_a_pair_the_cache_serves_anew_is_used_without_waiting_for_a_refusal(
    alpaca: AlpacaEmulator, secret_name: str
) -> None:
    secrets, clock = RecordingSecrets(max_age_seconds=0), Monotonic()  # max_age passed at once
    broker = broker_over(alpaca, secrets, secret_name, clock)
    rotate(alpaca, secret_name)
    assert broker.account().equity == 100_000.0
    assert (secrets.forced, alpaca.count("account")) == (0, 1)


def test_no_key_value_reaches_a_log_line_or_a_message(
    alpaca: AlpacaEmulator,
    secret_name: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # every library's debug output: botocore, urllib3, alpaca
    secrets, clock = RecordingSecrets(max_age_seconds=300), Monotonic()
    broker = broker_over(alpaca, secrets, secret_name, clock)
    with caplog.at_level(logging.WARNING):  # the operator's PutSecretValue is not the broker's
        rotate(alpaca, secret_name)
    broker.submit(market_buy("mt-logged-entry"))  # refused, forced re-read, sent once more
    alpaca.secret_key = "revoked-" + NEW_SECRET
    with pytest.raises(KeyRefusedError) as refused:
        broker.account()
    out, err = capfd.readouterr()
    records = json.dumps([r.__dict__ for r in caplog.records], default=str)  # extras included
    seen = out + err + caplog.text + records + str(refused.value) + repr(broker)
    assert "GetSecretValue" in seen  # the capture saw the secret being read ...
    assert "new API keys in use" in caplog.text  # ... and the rotation taken up
    assert "/v2/orders" in seen  # ... and the broker being asked
    for value in (KEY, SECRET, NEW_KEY, NEW_SECRET):
        assert value not in seen
