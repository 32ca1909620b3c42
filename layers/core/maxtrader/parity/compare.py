"""Live's decisions vs the replay's, signal by signal, each difference with a guess at its cause.

    compare(day, live, replay, settings=ParitySettings(), context=None) -> ParityResult

Matched by signal id (deterministic: strategy, symbol, bar), over every id either side knows:

- ``missing_in_live`` / ``missing_in_backtest``: one side has the signal, the other has not
  (then its decision is not compared again);
- ``signal_differs``: strategy, symbol, side, bar or regime differ, or a level (entry, stop,
  target, last price) differs beyond the tolerance; or one side has the decision but no SIGNAL
  record;
- ``decision_differs``: a verdict on one side and a NOT_SENT (or nothing) on the other;
  approved vs rejected; a different set of failing checks; a different NOT_SENT reason;
- ``sizing_differs``: the same verdict for another quantity or order symbol (equity orders;
  options only with ``compare_option_sizing``: live sizes from the broker's quotes, the replay
  from its option model);
- ``unreadable_record``: an audit record of a compared kind without its shape.

Each difference carries a guess at its cause (parity/causes.py). ``context`` (the replay's
inputs) sharpens them: which bars were stored, which regime the replay had and where it came
from. The result is JSON-serializable (``to_json``); ``ok`` is True exactly when there is no
difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from maxtrader.parity.causes import (
    LIVE,
    REPLAY,
    CauseContext,
    decision_cause,
    missing_cause,
    verdict_cause,
)
from maxtrader.parity.records import Decision, Decisions, NotSentView, SignalView, VerdictView

__all__ = [
    "CauseContext",
    "Difference",
    "DifferenceKind",
    "ParityResult",
    "ParitySettings",
    "compare",
]

_LEVELS = ("entry", "stop", "target", "last_price")
_IDENTITY = ("strategy", "symbol", "side", "bar_ts")


class DifferenceKind(StrEnum):
    MISSING_IN_LIVE = "missing_in_live"
    MISSING_IN_BACKTEST = "missing_in_backtest"
    SIGNAL_DIFFERS = "signal_differs"
    DECISION_DIFFERS = "decision_differs"
    SIZING_DIFFERS = "sizing_differs"
    UNREADABLE_RECORD = "unreadable_record"
    REPLAY_IMPOSSIBLE = "replay_impossible"


class Difference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DifferenceKind
    subject: str  # the signal id (the day for replay_impossible, the record for unreadable)
    field: str | None = None
    live: JsonValue = None
    backtest: JsonValue = None
    cause: str


class ParityResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    ok: bool
    compared: dict[str, int]
    differences: list[Difference]
    regime_source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class ParitySettings:
    abs_tolerance: float = 1e-6  # levels and prices: |a - b| <= abs or relative tolerance
    rel_tolerance: float = 1e-9
    compare_option_sizing: bool = False


def compare(
    day: date,
    live: Decisions,
    replay: Decisions,
    settings: ParitySettings = ParitySettings(),
    context: CauseContext | None = None,
) -> ParityResult:
    ctx = context or CauseContext()
    out: list[Difference] = []
    for side, decisions in ((LIVE, live), (REPLAY, replay)):
        for what in decisions.unreadable:
            out.append(
                Difference(
                    kind=DifferenceKind.UNREADABLE_RECORD,
                    subject=what,
                    field=side,
                    cause=f"a {side} audit record without its shape",
                )
            )
    for sid in sorted(live.ids() | replay.ids()):
        out += _compare_one(sid, live, replay, settings, ctx)
    compared = {
        "signals_live": len(live.signals),
        "signals_backtest": len(replay.signals),
        "decisions_live": len(live.decisions),
        "decisions_backtest": len(replay.decisions),
    }
    return ParityResult(
        day=day, ok=not out, compared=compared, differences=out, regime_source=ctx.regime_source
    )


def _compare_one(
    sid: str, live: Decisions, replay: Decisions, settings: ParitySettings, ctx: CauseContext
) -> list[Difference]:
    if sid not in replay.ids():
        return [_missing(DifferenceKind.MISSING_IN_BACKTEST, sid, live, ctx, other=replay)]
    if sid not in live.ids():
        return [_missing(DifferenceKind.MISSING_IN_LIVE, sid, replay, ctx, other=live)]
    out = _signal_differences(sid, live.signals.get(sid), replay.signals.get(sid), settings)
    a, b = live.decisions.get(sid), replay.decisions.get(sid)
    signal = live.signals.get(sid) or replay.signals.get(sid)
    out += _decision_differences(sid, a, b, signal, settings)
    return out


# --- signals -------------------------------------------------------------------------------------


def _missing(
    kind: DifferenceKind, sid: str, present: Decisions, ctx: CauseContext, *, other: Decisions
) -> Difference:
    signal = present.signals.get(sid)
    decision = present.decisions.get(sid)
    value: JsonValue = _signal_json(signal) if signal is not None else _decision_json(decision)
    side = LIVE if kind is DifferenceKind.MISSING_IN_BACKTEST else REPLAY
    return Difference(
        kind=kind,
        subject=sid,
        live=value if side == LIVE else None,
        backtest=value if side == REPLAY else None,
        cause=missing_cause(kind is DifferenceKind.MISSING_IN_BACKTEST, signal, ctx, other),
    )


def _signal_differences(
    sid: str, a: SignalView | None, b: SignalView | None, settings: ParitySettings
) -> list[Difference]:
    if a is None and b is None:
        return []
    if a is None or b is None:
        side = LIVE if a is None else REPLAY
        return [
            Difference(
                kind=DifferenceKind.SIGNAL_DIFFERS,
                subject=sid,
                field="record",
                live=a is not None,
                backtest=b is not None,
                cause=f"no SIGNAL record {side}: the signal was decided but not "
                "audited as handed on",
            )
        ]
    out: list[Difference] = []
    for name in _IDENTITY:
        x, y = getattr(a, name), getattr(b, name)
        if x != y:
            out.append(
                _field(
                    sid,
                    name,
                    x,
                    y,
                    "a different bar or strategy under the same id (the signal id scheme changed?)",
                )
            )
    if a.regime != b.regime:
        out.append(
            _field(
                sid,
                "regime",
                a.regime,
                b.regime,
                f"regime differed: live {a.regime}, replay {b.regime}",
            )
        )
    for name in _LEVELS:
        x, y = getattr(a, name), getattr(b, name)
        if not math.isclose(x, y, rel_tol=settings.rel_tolerance, abs_tol=settings.abs_tolerance):
            out.append(
                _field(
                    sid,
                    name,
                    x,
                    y,
                    "bars differed: a bar live stepped is not the "
                    "stored one (a corrected bar), or the strategy's state differed",
                )
            )
    return out


def _field(sid: str, name: str, live: Any, replay: Any, cause: str) -> Difference:
    return Difference(
        kind=DifferenceKind.SIGNAL_DIFFERS,
        subject=sid,
        field=name,
        live=_plain(live),
        backtest=_plain(replay),
        cause=cause,
    )


# --- decisions -----------------------------------------------------------------------------------


def _decision_differences(
    sid: str,
    a: Decision | None,
    b: Decision | None,
    signal: SignalView | None,
    settings: ParitySettings,
) -> list[Difference]:
    if a == b:
        return []
    if isinstance(a, VerdictView) and isinstance(b, VerdictView):
        if a.approved == b.approved and a.failures == b.failures:
            return _sizing_difference(sid, a, b, signal, settings)
        return [
            Difference(
                kind=DifferenceKind.DECISION_DIFFERS,
                subject=sid,
                field="verdict",
                live=_decision_json(a),
                backtest=_decision_json(b),
                cause=verdict_cause(a, b),
            )
        ]
    if isinstance(a, NotSentView) and isinstance(b, NotSentView):
        cause = "sizing inputs differed: equity or the option chain at the decision"
        return [
            Difference(
                kind=DifferenceKind.DECISION_DIFFERS,
                subject=sid,
                field="not_sent",
                live=a.reason,
                backtest=b.reason,
                cause=cause,
            )
        ]
    return [
        Difference(
            kind=DifferenceKind.DECISION_DIFFERS,
            subject=sid,
            field="decision",
            live=_decision_json(a),
            backtest=_decision_json(b),
            cause=decision_cause(a, b),
        )
    ]


def _sizing_difference(
    sid: str,
    a: VerdictView,
    b: VerdictView,
    signal: SignalView | None,
    settings: ParitySettings,
) -> list[Difference]:
    underlying = signal.symbol if signal is not None else None
    option = underlying is not None and underlying not in (a.symbol, b.symbol)
    if option and not settings.compare_option_sizing:
        return []
    if underlying is not None and (a.symbol == underlying) != (b.symbol == underlying):
        cause = (
            "instrument differed (equity vs option): the replay's strategies configuration "
            "is not the one live traded with"
        )
    else:
        cause = "sizing differed: equity at the decision (earlier fills' prices) or option quotes"
    return [
        Difference(
            kind=DifferenceKind.SIZING_DIFFERS,
            subject=sid,
            field="order",
            live=_decision_json(a),
            backtest=_decision_json(b),
            cause=cause,
        )
    ]


# --- JSON ----------------------------------------------------------------------------------------


def _signal_json(signal: SignalView) -> JsonValue:
    return {name: _plain(getattr(signal, name)) for name in (*_IDENTITY, "regime", *_LEVELS)}


def _decision_json(decision: Decision | None) -> JsonValue:
    if decision is None:
        return None
    if isinstance(decision, NotSentView):
        return {"not_sent": decision.reason}
    return {
        "approved": decision.approved,
        "failures": list(decision.failures),
        "symbol": decision.symbol,
        "qty": decision.qty,
    }


def _plain(value: Any) -> JsonValue:
    return value.isoformat() if isinstance(value, datetime) else value
