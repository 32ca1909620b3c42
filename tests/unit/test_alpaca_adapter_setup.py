"""How the adapter sets alpaca-py up: timeouts on, library retries off, nothing imported early."""

from __future__ import annotations

import subprocess
import sys

import pytest

from maxtrader.adapters.alpaca_broker import AlpacaBroker, _harden, _TimeoutSession
from maxtrader.domain.errors import InvalidInputError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_both_clients_get_a_timeout_and_no_library_retry() -> None:
    broker = AlpacaBroker("key", "secret", timeout=(1.5, 4.0))
    for client in (broker._clients.trading, broker._clients.data):
        assert isinstance(client._session, _TimeoutSession)
        assert client._session.timeout == (1.5, 4.0)
        assert client._retry == 0
    assert broker.paper and "paper-api.alpaca.markets" in repr(broker)
    assert "secret" not in repr(broker)


def test_live_trading_must_be_asked_for() -> None:
    live = repr(AlpacaBroker("key", "secret", paper=False))
    assert "https://api.alpaca.markets" in live and "paper-api" not in live


def test_a_changed_alpaca_py_fails_loudly_instead_of_trading_without_timeouts() -> None:
    class Renamed:
        _http = None

    with pytest.raises(RuntimeError, match="no longer has _session/_retry"):
        _harden(Renamed(), 1.0)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="secret key"):
        AlpacaBroker("key", "")
    with pytest.raises(InvalidInputError, match="read_retries"):
        AlpacaBroker("key", "secret", read_retries=-1)
    with pytest.raises(InvalidInputError, match="quote_feed must be one of"):
        AlpacaBroker("key", "secret", quote_feed="sip")
    assert AlpacaBroker("key", "secret", quote_feed="indicative")._feed is not None


def test_the_emulator_and_the_core_import_neither_alpaca_nor_pandas() -> None:
    code = (
        "import sys; import maxtrader.emulators.alpaca, maxtrader.domain.ports; "
        "print(sorted(m for m in ('alpaca', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
