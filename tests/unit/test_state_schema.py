"""The key builders refuse key parts that are not plain known names (no counter on free text)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader import state_schema as schema
from maxtrader.domain.errors import InvalidInputError
from maxtrader.domain.safety.state import BreakerName, SwitchName
from maxtrader.domain.strategy_names import KNOWN_STRATEGIES


def test_the_names_are_the_state_enums() -> None:
    assert {n.value for n in SwitchName} == schema.SWITCH_NAMES
    assert {n.value for n in BreakerName} == schema.BREAKER_NAMES


def test_keys_of_plain_known_parts() -> None:
    assert schema.entries_key("2024-06-03") == ("DAY#2024-06-03", "ENTRIES")
    assert schema.entries_key("2024-06-03", "wave_renko") == (
        "DAY#2024-06-03",
        "ENTRIES#wave_renko",
    )
    assert [schema.pnl_key(p)[0] for p in ("2024-06-03", "2024-W23", "2024-06")] == [
        "PNL#2024-06-03",
        "PNL#2024-W23",
        "PNL#2024-06",
    ]
    assert schema.ticket_key("mt-abc-entry") == ("TICKET", "mt-abc-entry")
    assert schema.switch_key("kill_switch") == ("CONTROL", "kill_switch")


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: schema.entries_key("2024-06-03", "renko"), "strategy 'renko' is not one of"),
        (lambda: schema.entries_key("2024-06-03", "wave_renko#x"), "strategy"),
        (lambda: schema.entries_key("2024-06-03", ""), "strategy"),
        (lambda: schema.entries_key("06/03/2024"), "trading date"),
        (lambda: schema.entries_key("2024-06-03#ENTRIES"), "trading date"),
        (lambda: schema.pnl_key("today"), "period"),
        (lambda: schema.switch_key("killswitch"), "switch"),
        (lambda: schema.breaker_key("Drawdown"), "breaker"),
        (lambda: schema.ticket_key(""), "client_order_id"),
        (lambda: schema.ticket_key("mt\tx"), "client_order_id"),
        (lambda: schema.signal_key("s" * 257), "signal id"),
        (lambda: schema.fill_key("f\n1"), "fill id"),
        (lambda: schema.audit_pk("2024-6-3"), "trading date"),
    ],
)
def test_bad_key_parts_are_refused(build: Callable[[], object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        build()


@pytest.mark.fuzz
@given(name=st.text(max_size=30))
def test_only_known_strategies_key_a_counter(name: str) -> None:
    if name in KNOWN_STRATEGIES:
        assert schema.entries_key("2024-06-03", name)[1] == f"ENTRIES#{name}"
    else:
        with pytest.raises(InvalidInputError):
            schema.entries_key("2024-06-03", name)
