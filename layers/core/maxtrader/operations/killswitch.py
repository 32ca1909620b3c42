"""The kill switch's logic: what the operator URL does, over the ports (no AWS, no HTTP here).

    ops = KillSwitchOperations(engine, alerts, broker=lambda: broker, clock=clock)
    ops.status() -> dict                          # switches, trading state, breakers
    ops.engage(actor, EngageRequest) -> Outcome   # the switch first, then the flatten if asked
    ops.release(actor, ReleaseRequest) -> Outcome
    ops.safe_mode(actor, SafeModeRequest) -> Outcome
    ops.flatten(actor, FlattenRequest) -> Outcome  # cancel every order, close every position

One instance serves one request at a time (a Lambda container does), like the engine under it.

This is the path an operator takes when everything else is failing, so each step stands alone:
the switch is written (and audited, with the caller's ARN, by the safety engine) before anything
else is tried; a broker that is down fails only the flatten, an alert service that is down only
the alert. Both come back in the answer (``flatten.ok``, ``warnings``) and are logged. A state
store that is down fails the change itself (``StateUnavailableError``: nothing was engaged).

Each change alerts once: the dedup key names the action and the switch's new version, so a
repeated call (a retry: no change, same version) is the same alert and the cooldown holds it
back, while a new change always goes out. A repeat still publishes: if the first alert failed
(nothing was recorded as sent), the operator's retry is what pages the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import JsonValue

from maxtrader.domain.clock import Clock
from maxtrader.domain.errors import StateUnavailableError
from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.domain.ports import Alert, Alerts, Broker
from maxtrader.domain.safety.engine import SafetyEngine
from maxtrader.domain.safety.state import BreakerName, SwitchName, SwitchState
from maxtrader.operations.alert_kinds import clip_line
from maxtrader.operations.killswitch_requests import (
    EngageRequest,
    FlattenRequest,
    ReleaseRequest,
    SafeModeRequest,
)

log = logging.getLogger(__name__)
_SMS_ACTOR_CHARS = 40
_SWITCH_KINDS = frozenset({AuditKind.KILL_SWITCH, AuditKind.SAFE_MODE})


@dataclass(frozen=True, slots=True)
class FlattenResult:
    ok: bool
    orders_sent: tuple[str, ...] = ()  # the symbols a closing order went out for
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JsonValue]:
        return {"ok": self.ok, "orders_sent": list(self.orders_sent), "errors": list(self.errors)}


@dataclass(slots=True)
class Outcome:
    """The answer to one change request."""

    action: str
    changed: bool
    before: dict[str, JsonValue] | None = None
    after: dict[str, JsonValue] | None = None
    flatten: FlattenResult | None = None
    alert: str = "none"  # sent | deduplicated | failed
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.flatten is None or self.flatten.ok

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "ok": self.ok,
            "action": self.action,
            "changed": self.changed,
            "before": self.before,
            "after": self.after,
            "flatten": None if self.flatten is None else self.flatten.to_dict(),
            "alert": self.alert,
            "warnings": list(self.warnings),
        }


def switch_view(state: SwitchState) -> dict[str, JsonValue]:
    return {
        "on": state.on,
        "automatic": state.automatic,
        "actor": state.actor,
        "reason": state.reason,
        "changed_at": _iso(state.changed_at),
        "version": state.version,
    }


class KillSwitchOperations:
    def __init__(
        self,
        engine: SafetyEngine,
        alerts: Alerts,
        *,
        broker: Callable[[], Broker],  # built on first use: a flatten is the only caller
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._store = engine.store
        self._alerts = alerts
        self._broker = broker
        self._clock = clock

    def status(self) -> dict[str, JsonValue]:
        now = self._clock.now()
        breakers: list[JsonValue] = []
        for name in BreakerName:
            b = self._store.breaker(name)
            breakers.append(
                {
                    "name": name.value,
                    "paused": b.paused(now),
                    "until": _iso(b.until),
                    "tripped_at": _iso(b.tripped_at),
                    "reason": b.reason,
                }
            )
        return {
            "as_of": now.isoformat(),
            "trading_state": self._engine.trading_state().value,
            "kill_switch": switch_view(self._store.switch(SwitchName.KILL_SWITCH)),
            "safe_mode": switch_view(self._store.switch(SwitchName.SAFE_MODE)),
            "breakers": breakers,
        }

    def engage(self, actor: str, request: EngageRequest) -> Outcome:
        outcome = self._change(
            "engage",
            SwitchName.KILL_SWITCH,
            lambda: self._engine.engage_kill_switch(actor, request.reason),
        )
        if request.flatten:
            outcome.flatten = self._flatten(actor, request.reason, outcome)
        self._announce(outcome, actor, request.reason, "Kill switch ENGAGED")
        return outcome

    def release(self, actor: str, request: ReleaseRequest) -> Outcome:
        outcome = self._change(
            "release",
            SwitchName.KILL_SWITCH,
            lambda: self._engine.release_kill_switch(actor, request.reason),
        )
        self._announce(outcome, actor, request.reason, "Kill switch released")
        return outcome

    def safe_mode(self, actor: str, request: SafeModeRequest) -> Outcome:
        action = "safe_mode_on" if request.on else "safe_mode_off"
        outcome = self._change(
            action,
            SwitchName.SAFE_MODE,
            lambda: self._engine.set_safe_mode(request.on, actor, reason=request.reason),
        )
        title = "Safe mode ON (exits only)" if request.on else "Safe mode off"
        self._announce(outcome, actor, request.reason, title)
        return outcome

    def flatten(self, actor: str, request: FlattenRequest) -> Outcome:
        outcome = Outcome(action="flatten", changed=True)
        outcome.flatten = self._flatten(actor, request.reason, outcome)
        self._announce(outcome, actor, request.reason, "")
        return outcome

    # --- steps -------------------------------------------------------------------------------
    def _change(self, action: str, name: SwitchName, write: Callable[[], None]) -> Outcome:
        # "Changed" means this call wrote the switch: the engine reports the record it stored.
        # (Comparing versions would not do: a concurrent caller may have moved it in between.)
        self._engine.drain_events()  # left by an earlier call: not this one's
        before = self._store.switch(name)
        write()
        changed = any(e.kind in _SWITCH_KINDS for e in self._engine.drain_events())
        after = self._store.switch(name)
        return Outcome(
            action=action,
            changed=changed,
            before=switch_view(before),
            after=switch_view(after),
        )

    def _flatten(self, actor: str, reason: str, outcome: Outcome) -> FlattenResult:
        # Broad catches on purpose: the switch is already written; whatever the broker (or its
        # secret) does, the operator must get an answer that says so, not a 500.
        errors: list[str] = []
        sent: tuple[str, ...] = ()
        try:
            broker = self._broker()
        except Exception as exc:
            errors.append(f"broker unavailable: {_describe(exc)}")
        else:
            try:
                broker.cancel_all()
            except Exception as exc:
                errors.append(f"cancel all orders: {_describe(exc)}")
            try:  # cancels what is left first, then one market order per position
                sent = tuple(o.symbol for o in broker.close_all_positions(cancel_orders=True))
            except Exception as exc:
                errors.append(f"close all positions: {_describe(exc)}")
        result = FlattenResult(ok=not errors, orders_sent=sent, errors=tuple(errors))
        if errors:
            log.error("flatten failed: %s", "; ".join(errors))
        record = AuditRecord(
            ts=self._clock.now(),
            kind=AuditKind.BROKER_RESPONSE,
            subject="flatten",
            actor=actor,
            detail={"reason": reason, **result.to_dict()},
        )
        try:
            self._store.append_audit([record])
        except StateUnavailableError as exc:
            log.error("flatten not audited: %s", exc)
            outcome.warnings.append(f"flatten not audited: {exc}")
        return result

    def _announce(self, outcome: Outcome, actor: str, reason: str, title: str) -> None:
        flat = outcome.flatten
        if outcome.action == "flatten":
            title = "Flatten done" if flat is not None and flat.ok else "Flatten FAILED"
        elif flat is not None and not flat.ok:
            title += ", flatten FAILED"
        elif flat is not None:
            title += " and flattened"
        version = (outcome.after or {}).get("version", "")
        flat_state = "" if flat is None else (":flat_ok" if flat.ok else ":flat_failed")
        details: dict[str, object] = {"actor": actor, "reason": reason, **outcome.to_dict()}
        details.pop("warnings")
        try:
            alert = Alert(
                subject=title,
                # The SMS line, whole (a reason may be 500 characters: the email has it all).
                line=clip_line(f"{title} by {_short(actor)}: {reason}"),
                details=details,
                dedup_key=f"kill_switch:{outcome.action}:v{version}{flat_state}",
            )
            sent = self._alerts.publish(alert)
        except Exception as exc:  # the change stands; say the alert did not go out
            log.error("alert %s not sent: %s", outcome.action, _describe(exc))
            outcome.alert = "failed"
            outcome.warnings.append(f"alert not sent: {_describe(exc)}")
            return
        outcome.alert = "sent" if sent else "deduplicated"


def _short(actor: str) -> str:
    """The session or user name at the end of an ARN: enough for an SMS."""
    return actor.rsplit("/", 1)[-1][:_SMS_ACTOR_CHARS] or actor[-_SMS_ACTOR_CHARS:]


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


__all__ = ["FlattenResult", "KillSwitchOperations", "Outcome", "switch_view"]
