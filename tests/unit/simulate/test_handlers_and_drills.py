"""The handler table (deployed / not deployed) and the drills' pure parts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from maxtrader.domain.calendar import MarketCalendar
from maxtrader.runtime.schedule_event import SCHEDULE_NAMES
from maxtrader.simulate.drills import (
    DRILLS,
    DrillError,
    _exposure,
    active_drills,
    build_drills,
    common_problems,
    missing_functions,
    parse_drills,
)
from maxtrader.simulate.handlers import (
    FUNCTIONS,
    FunctionSpec,
    for_schedule,
    for_source,
    load_handlers,
    not_deployed,
)
from maxtrader.simulate.summary import OrderRow, Summary

REPO = Path(__file__).resolve().parents[3]
SESSION = MarketCalendar.xnys().session(date(2024, 6, 12))


def test_every_schedule_has_exactly_one_function_in_the_table() -> None:
    for name in SCHEDULE_NAMES:
        assert sum(name in f.schedules for f in FUNCTIONS) == 1, name
    assert [f.name for f in FUNCTIONS if "bars" in f.sources] == ["signals"]
    assert [f.name for f in FUNCTIONS if "signals" in f.sources] == ["execute"]


@pytest.fixture
def function_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What the stack gives every function (execute builds its idempotency layer at import)."""
    from maxtrader.config.loader import load_stage
    from maxtrader.function_env import FunctionEnv, function_env
    from maxtrader.runtime import factory

    for name, value in FunctionEnv.for_stage(load_stage("staging")).to_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    function_env.cache_clear()
    yield
    factory.clear()  # nothing built on this environment outlives the test


@pytest.mark.usefixtures("function_environment")
def test_the_functions_on_main_load_and_the_rest_are_not_deployed() -> None:
    deployed = load_handlers(REPO, "staging")
    assert {"ingest", "killswitch"} <= set(deployed)
    assert set(deployed) | set(not_deployed(deployed)) == {f.name for f in FUNCTIONS}
    assert callable(deployed["killswitch"].handler)
    if "signals" in deployed:
        assert for_schedule(deployed, "signals-poll") is deployed["signals"]
        assert for_source(deployed, "bars") is deployed["signals"]
    else:
        assert for_source(deployed, "bars") is None


def test_a_missing_module_is_not_deployed_but_a_broken_one_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "simfns"
    (package / "broken").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "broken" / "__init__.py").write_text("")
    (package / "broken" / "handler.py").write_text("import no_such_dependency_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    absent = (FunctionSpec("absent", "simfns.absent.handler"),)
    assert load_handlers(tmp_path, "staging", absent) == {}
    broken = (FunctionSpec("broken", "simfns.broken.handler"),)
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_here"):
        load_handlers(tmp_path, "staging", broken)
    sys.modules.pop("simfns", None)


def test_drill_names_parse_all_and_refuse_unknown_ones() -> None:
    assert SESSION is not None
    assert parse_drills("all") == list(DRILLS)
    assert parse_drills("broker-5xx, late-pushes") == ["broker-5xx", "late-pushes"]
    assert parse_drills(None) == []
    with pytest.raises(DrillError, match="unknown drill"):
        build_drills(["broker-5xx", "nope"], SESSION)
    late = build_drills(["late-pushes"], SESSION)[0]
    assert len(late.withheld()) == 3 and late.needs == ("ingest", "signals")


def test_exposure_reads_shares_calls_and_puts() -> None:
    assert _exposure("SPY", {"SPY": 10}) == 1
    assert _exposure("SPY", {"SPY240612C00530000": 2}) == 1
    assert _exposure("SPY", {"SPY240612P00530000": 2}) == -1
    assert _exposure("SPY", {"QQQ240612C00450000": 2}) == 0
    assert _exposure("SPY", {}) == 0


@pytest.mark.usefixtures("function_environment")
def test_each_run_imports_the_handlers_afresh_like_a_new_container() -> None:
    first = load_handlers(REPO, "staging")["ingest"].handler
    second = load_handlers(REPO, "staging")["ingest"].handler
    assert first is not second
    assert sys.modules["functions.ingest.handler"].lambda_handler is second


def test_a_drill_whose_functions_are_absent_is_not_armed() -> None:
    # The drift drill once opened its foreign position with no monitor/eod deployed, and every
    # other drill then failed "not reconciled": an unreachable drill must inject nothing.
    assert SESSION is not None
    drills = build_drills(["reconciliation-drift", "late-pushes", "duplicate-pushes"], SESSION)
    active = active_drills(drills, {"ingest", "killswitch"})
    assert [d.name for d in active] == ["duplicate-pushes"]
    assert missing_functions(drills[0], {"ingest", "monitor"}) == ["eod"]


class _Run:
    """What the common checks read from a run: its fill records and foreign orders."""

    def __init__(self, booked: list[str]) -> None:
        from datetime import UTC, datetime

        from maxtrader.domain.models import AuditKind, AuditRecord

        ts = datetime(2024, 6, 12, 16, tzinfo=UTC)
        self.fills = [AuditRecord(ts=ts, kind=AuditKind.FILL, subject=f"f-{c}",
                                  detail={"client_order_id": c}) for c in booked]  # fmt: skip

    def audit(self, kind: object) -> list[object]:
        return list(self.fills)

    def is_foreign(self, order: OrderRow) -> bool:
        return order.client_order_id.startswith("manual-")


def _row(cid: str, symbol: str = "SPY240612C00530000", filled: float = 1) -> OrderRow:
    return OrderRow(client_order_id=cid, symbol=symbol, side="buy", qty=1, status="filled",
                    filled_qty=filled)  # fmt: skip


def test_a_filled_system_order_without_a_fill_record_is_a_lost_fill() -> None:
    orders = [_row("mt-a"), _row("mt-b"), _row("manual-3-SPY", "SPY"), _row("close-1", "SPY")]
    summary = Summary(orders=orders, reconciliation={"ok": True})
    problems = common_problems(_Run(["mt-a"]), summary)  # type: ignore[arg-type]
    # mt-b is lost; the foreign order and eod's broker-side close of its position are not
    assert problems == ["fills not booked: ['mt-b']"]
    assert common_problems(_Run(["mt-a", "mt-b"]), summary) == []  # type: ignore[arg-type]


class _Broker:
    """What the loss-streak drill reads of a run each minute: the broker's positions."""

    def __init__(self) -> None:
        self.held: dict[str, int] = {}
        self.stack = self
        self.alpaca = self

    def positions(self) -> dict[str, int]:
        return dict(self.held)


def test_the_loss_streak_pushes_against_a_held_position_and_fades_once_flat() -> None:
    from datetime import timedelta

    from maxtrader.domain.models import Bar
    from maxtrader.simulate.drills import LossStreak

    assert SESSION is not None
    session = SESSION
    drill, run = LossStreak(session), _Broker()

    def close(m: int) -> float:
        ts = session.open + timedelta(minutes=m)
        bar = Bar(symbol="QQQ", ts=ts, open=450, high=450, low=450, close=450, volume=1)
        return drill.transform(run, [bar])[0].close  # type: ignore[arg-type]

    step, fade = LossStreak.step_pct, LossStreak.fade
    assert close(0) == 450  # flat: the market as scripted
    run.held["QQQ240612C00450000"] = 3  # a call: QQQ is pushed down
    assert [close(1), close(2)] == [round(450 * (1 - step), 2), round(450 * (1 - 2 * step), 2)]
    run.held.clear()  # stopped out: the push fades and the script comes back
    assert close(3) == round(450 * (1 - 2 * step * fade), 2)
    assert close(4) == round(450 * (1 - 2 * step * fade**2), 2)
    run.held["QQQ240612P00450000"] = 2  # a put: QQQ is pushed up from there
    assert close(5) == round(450 * (1 - 2 * step * fade**2 + step), 2)
