"""``maxtrader simulate`` end to end: the synthetic day with every drill, and a real SPY day.

One run per module (each takes a while on moto); the tests then read its JSON and cross-check
it with the audit log and the emulator the run left behind (``Simulation`` keeps both until the
result is built, so the JSON is compared with what the system itself recorded).
"""

from __future__ import annotations

import fcntl
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from maxtrader.cli import main
from maxtrader.simulate.drills import DRILLS
from maxtrader.simulate.handlers import FUNCTIONS

pytestmark = pytest.mark.slow
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VIX = SHARED / "noodles-rice_vix_dashboard" / "VIX_History_to_2025-04-30.csv"


def _simulate(out_dir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = out_dir / "sim.json"
    code = main(["simulate", *args, "--json", str(out), "--report", str(out_dir / "sim.html")])
    return code, json.loads(out.read_text())


def _once_per_session(
    factory: pytest.TempPathFactory, worker_id: str, name: str, *args: str
) -> tuple[int, dict[str, Any], Path]:
    """One simulated day per test session, whichever xdist worker asks first: the other waits
    for its result rather than simulating the day again (a day takes minutes, and module
    fixtures run once per worker, and again when a worker comes back to the module). Without
    xdist (``worker_id`` "master") it simply runs."""
    if worker_id == "master":
        out_dir = factory.mktemp(name)
        return (*_simulate(out_dir, *args), out_dir)
    root = factory.getbasetemp().parent  # this session's, shared by its workers
    out_dir, done = root / name, root / f"{name}.code"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            out_dir.mkdir(exist_ok=True)
            code, _ = _simulate(out_dir, *args)
            done.write_text(str(code))
    return int(done.read_text()), json.loads((out_dir / "sim.json").read_text()), out_dir


@pytest.fixture(scope="module")
def synthetic_day(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> tuple[int, dict[str, Any], Path]:
    return _once_per_session(tmp_path_factory, worker_id, "synthetic", "--faults", "all")


@pytest.fixture(scope="module")
def real_day(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Any]:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    import pandas as pd

    root = tmp_path_factory.getbasetemp().parent if worker_id != "master" else None
    source = (root or tmp_path_factory.mktemp("spy")) / "SPY_1m.csv"
    if not source.exists():  # the same content whichever worker writes it
        frame = pd.read_parquet(SHARED / "dawsh2_ADMF-PC" / "SPY_1m.parquet")
        frame = frame[(frame.timestamp >= "2024-06-03") & (frame.timestamp < "2024-06-12")]
        staged = source.with_suffix(f".{worker_id}.tmp")
        frame[["timestamp", "open", "high", "low", "close", "volume"]].to_csv(staged, index=False)
        staged.replace(source)
    args = ("--data", str(source), "--vix", str(VIX), "--date", "2024-06-11")
    return _once_per_session(tmp_path_factory, worker_id, "real", *args)[1]


def test_the_synthetic_day_ends_flat_with_unique_orders(synthetic_day: Any) -> None:
    code, data, _ = synthetic_day
    assert data["positions_open_at_end"] == 0
    ids = Counter(o["client_order_id"] for o in data["orders"])
    assert not [i for i, n in ids.items() if n > 1]
    assert data["duplicate_client_order_ids"] == []
    assert code in (0, 1)  # 1 only when a drill failed: asserted drill by drill below


def test_the_drilled_synthetic_day_has_entries_exits_and_rejections(synthetic_day: Any) -> None:
    _, data, _ = synthetic_day
    entries = [o for o in data["orders"] if o["client_order_id"].endswith("-entry")]
    exits = [o for o in data["orders"] if o["client_order_id"].endswith("-exit")]
    assert entries and exits, data["orders"]
    assert data["fills"] >= 2 and data["realized_pnl"] != 0
    assert "trade_frequency" in data["rejections"], data["rejections"]  # the same-bar pair


def test_every_function_is_deployed_or_reported_not_deployed(synthetic_day: Any) -> None:
    _, data, _ = synthetic_day
    assert sorted(data["deployed"] + data["not_deployed"]) == sorted(f.name for f in FUNCTIONS)
    assert {"ingest", "killswitch"} <= set(data["deployed"])
    assert data["invocations"]["ingest"]["ok"] >= 390  # every minute pushed (and retried)


def test_every_function_is_deployed_and_every_drill_reports(synthetic_day: Any) -> None:
    _, data, _ = synthetic_day
    assert data["not_deployed"] == []
    assert set(data["faults"]) == set(DRILLS)


@pytest.mark.parametrize("drill", sorted(DRILLS))
def test_the_drill_passes(synthetic_day: Any, drill: str) -> None:
    _, data, _ = synthetic_day
    assert data["faults"][drill] == "ok", data["faults"][drill]


def test_summary_counts_agree_with_the_audit_log_kinds(synthetic_day: Any) -> None:
    _, data, _ = synthetic_day
    kinds = data["audit_records"]
    assert data["signals"] == kinds.get("signal", 0)
    assert data["fills"] == kinds.get("fill", 0)
    assert data["approvals"] + sum(data["rejections"].values()) <= kinds.get("verdict", 0)
    assert kinds.get("kill_switch", 0) >= 2  # the drill's engage and release
    assert any("Kill switch" in a for a in data["alerts"])
    # The drills change live state the backtester cannot know: each difference names its cause.
    assert data["parity"]["ok"] is not None
    assert all(d["cause"] for d in data["parity"]["differences"])


def test_the_report_is_written(synthetic_day: Any) -> None:
    _, _, tmp = synthetic_day
    html = (tmp / "sim.html").read_text()
    assert "Simulated session 2024-06-12" in html and "<script" not in html


def test_a_real_spy_day_replays_flat(real_day: dict[str, Any]) -> None:
    """The SPY file alone: the stage trades SPY only that day; a daily VIX file, fed as a flat
    intraday VIX at the prior close."""
    assert real_day["day"] == "2024-06-11"
    assert "SPY_1m.csv" in real_day["source"]
    assert real_day["positions_open_at_end"] == 0
    assert real_day["duplicate_client_order_ids"] == []
    assert real_day["invocations"]["ingest"]["ok"] == 390
    assert real_day["reconciliation"]["ok"] is True


def test_a_real_spy_day_with_no_drill_is_in_parity(real_day: dict[str, Any]) -> None:
    assert real_day["parity"]["ok"] is True, real_day["parity"]["differences"]
    # Health held nothing back: the day's entries were decided on their merits.
    assert "safe_mode" not in real_day["rejections"], real_day["rejections"]


def test_the_cost_models_measurement_still_matches_a_fresh_session(synthetic_day: Any) -> None:
    """docs/cost.md prices what infra/maxtrader_infra/session_usage.json holds: a function that
    became chattier (or quieter) must show there (``make cost``)."""
    from maxtrader_infra import cost_model

    _, data, _ = synthetic_day
    stored = cost_model.load_usage()["functions"]
    assert set(data["usage"]) <= set(stored), "a function is not measured: run make cost"
    for name, fresh in data["usage"].items():
        before = stored[name]
        for field in ("dynamodb_read_units", "dynamodb_write_units", "sqs_requests"):
            now = fresh[field] / max(fresh["invocations"], 1)
            then = before[field] / max(before["invocations"], 1)
            assert abs(now - then) <= max(0.5, 0.15 * then), (
                f"{name} {field}: {now:.2f} per invocation now, {then:.2f} in "
                "session_usage.json: run make cost and update docs/cost.md"
            )
