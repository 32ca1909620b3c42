"""``import maxtrader.data`` and the push model stay light: pandas only with the file loaders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "statement",
    [
        "import maxtrader.data",
        "from maxtrader.data import parse_minute_aggregates, MinuteAggregate",
        "from maxtrader.data import load_vix_daily",
        "from maxtrader.data import load_vix_intraday, vix_file_kind",
        # a handler's cold start: its environment and configuration
        "from maxtrader.function_env import parse_function_env",
        "from maxtrader.config import load_config; load_config(stage='production')",
    ],
)
def test_no_pandas_until_a_bar_file_is_loaded(statement: str) -> None:
    code = f"import sys; {statement}; print('pandas' in sys.modules)"
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "False"


def test_the_loader_does_bring_pandas() -> None:
    code = "import sys; from maxtrader.data import load_bars; print('pandas' in sys.modules)"
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "True"


# One bar of the live bar path, in a fresh interpreter: config, calendar (a date in the compiled
# table's range), regime, a pushed minute aggregate, every strategy's step, the state's round trip.
BAR_PATH = """
import json, sys
from datetime import date, timedelta
from maxtrader.config import load_strategies
from maxtrader.data.push import parse_minute_aggregates
from maxtrader.domain.calendar import MarketCalendar
from maxtrader.domain.models import Regime
from maxtrader.domain.ports import StoredStrategyState
from maxtrader.domain.regime import RegimeDetector
from maxtrader.domain.strategies.routing import STRATEGY_NAMES, strategy_for, strategy_named

config = load_strategies()
session = MarketCalendar.xnys().session(date(2024, 7, 3))
assert session is not None and session.is_early_close
detector = RegimeDetector(config.regime)
now = session.open + timedelta(minutes=1)
regime = detector.update(detector.start_session(session.day), 15.2, observed_at=now, now=now)
assert regime.regime is Regime.NORMAL_VOL, regime
start = int(session.open.timestamp() * 1000)
frame = json.dumps([{"ev": "status", "status": "connected"}, {
    "ev": "AM", "sym": "SPY", "v": 1200, "av": 1200, "op": 545.1, "vw": 545.2, "o": 545.1,
    "c": 545.3, "h": 545.4, "l": 545.0, "a": 545.2, "z": 10, "s": start, "e": start + 60000}])
bar = parse_minute_aggregates(frame)[0].to_bar()
stepped = []
for name in (strategy_for(regime.regime, config).name, *STRATEGY_NAMES):
    strategy = strategy_named(name, config)
    state = strategy.start_session("SPY", session, [])
    state, signals = strategy.step(state, bar)
    stored = StoredStrategyState(strategy.name, "SPY", bar.ts, state.model_dump_json())
    assert strategy.load_state(stored.payload) == state and state.last_ts == bar.ts
    stepped.append(name)
heavy = ("pandas", "numpy", "exchange_calendars", "alpaca", "pyarrow")
print(json.dumps({"stepped": stepped, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_the_bar_path_imports_no_pandas() -> None:
    out = subprocess.check_output([sys.executable, "-c", BAR_PATH], text=True)
    result = json.loads(out)
    assert result["loaded"] == []
    assert set(result["stepped"]) == {"wave_renko", "vwap_reversion", "pause", "smart_money"}


def test_a_calendar_beyond_the_table_still_comes_from_exchange_calendars() -> None:
    """The fallback is real: outside the table the source of truth (and pandas) is used."""
    code = (
        "import sys; from maxtrader.domain.calendar import MarketCalendar; "
        "MarketCalendar.xnys('1985-01-01', '1991-12-31'); "
        "print('exchange_calendars' in sys.modules)"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "True"
