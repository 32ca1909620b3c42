"""Posting one execution: attribution, accounting, the breach rule, drift and the rapid-loss event.

``SafetyEngine.on_fill`` delegates here (see its docstring); kept apart so the engine module stays
about decisions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from maxtrader.config.safety import SafetyConfig
from maxtrader.domain.clock import Clock, iso_week, month_key, trading_date
from maxtrader.domain.errors import InvalidInputError, StateUnavailableError
from maxtrader.domain.models import AuditKind, Fill
from maxtrader.domain.ports import StateStore
from maxtrader.domain.safety import accounting, audit
from maxtrader.domain.safety.accounting import FillAttributionError, FillEffect, UnknownFillError
from maxtrader.domain.safety.attempts import retrying
from maxtrader.domain.safety.controls import Controls
from maxtrader.domain.safety.state import BreakerName, FillApplication, SwitchName

# A fill stamped further ahead of the clock than this is refused: its P&L would be booked to a
# period that has not begun (and escape today's loss limits).
MAX_FILL_CLOCK_SKEW = timedelta(minutes=5)


class FillPosting:
    def __init__(
        self,
        config: SafetyConfig,
        store: StateStore,
        clock: Clock,
        controls: Controls,
        attempts: int,
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._controls = controls
        self._attempts = attempts

    def apply(self, fill: Fill, signal_id: str | None = None) -> FillEffect | None:
        """Apply one execution to the order it names; None when this fill id was applied before.

        ``signal_id`` names the signal of a broker-side leg (its own id is the broker's). A fill
        naming no order of ours raises ``UnknownFillError`` (drift: audited, an event) and is
        not applied. A fill beyond its reservation is applied at its real risk, audited as a
        ``risk_breach``, reported as an event and turns safe mode on (an operator clears it).
        """
        now = self._clock.now()
        if fill.ts > now + MAX_FILL_CLOCK_SKEW:
            raise InvalidInputError(
                f"fill {fill.fill_id} is stamped {fill.ts.isoformat()}, after now "
                f"{now.isoformat()} (+{MAX_FILL_CLOCK_SKEW})"
            )

        def attempt() -> FillEffect | None:
            ticket, purpose = accounting.ticket_for(self._store, fill, signal_id)
            mark = self._store.portfolio().marks.get(ticket.symbol)
            effect = accounting.apply_fill(
                ticket, fill, mark, purpose, self._config.figures.breach_tolerance_pct
            )
            records = [audit.fill_record(fill, effect, ticket)]
            if effect.losing_close:
                # Stored with the fill, so a crash between the two cannot lose it for the breaker.
                records.append(
                    audit.record(
                        AuditKind.FILL,
                        f"losing_close:{effect.ticket.client_order_id}",
                        fill.ts,
                        realized=effect.ticket.realized,
                    )
                )
            if effect.breach is not None:
                records.append(audit.breach_record(fill, effect, now))
            applied = self._store.apply_fill(
                FillApplication(
                    fill_id=fill.fill_id,
                    ticket=effect.ticket,
                    expected_version=ticket.version,
                    realized=effect.realized,
                    day=trading_date(fill.ts),
                    week=iso_week(fill.ts),
                    month=month_key(fill.ts),
                    slot_delta=effect.slot_delta,
                    exposure_delta=effect.exposure_delta,
                    unrealized_delta=effect.unrealized_delta,
                    loss_at=fill.ts if effect.losing_close else None,
                    audit=tuple(records),
                )
            )
            if applied and effect.breach is not None:
                self._controls.events.append(records[-1])
            return effect if applied else None

        try:
            effect = retrying(self._attempts, attempt)
        except FillAttributionError as exc:
            # A redelivered fill no longer fits the position it already changed (an exit fill
            # after the position went flat): a duplicate is a no-op, whatever else it looks like.
            if self._store.fill_applied(fill.fill_id):
                return None
            if isinstance(exc, UnknownFillError):
                self._report_drift(fill, now)
            raise
        if effect is not None and effect.breach is not None:
            self._breach_safe_mode(effect)
        if effect is not None and effect.losing_close:
            try:
                self._controls.record_event(BreakerName.RAPID_LOSS, fill.ts, None, recorded=True)
            except StateUnavailableError as exc:
                # The fill and its loss are stored; refresh_breakers() (the monitor) or the next
                # losing close applies the trip rule. Tell the caller now.
                self._controls.events.append(
                    audit.record(
                        AuditKind.BREAKER_TRIP,
                        "rapid_loss",
                        self._clock.now(),
                        check_failed=f"{type(exc).__name__}: {exc}",
                    )
                )
        return effect

    def _report_drift(self, fill: Fill, now: datetime) -> None:
        drift = audit.record(
            AuditKind.RECONCILIATION,
            fill.client_order_id,
            now,
            event="unknown_fill",
            fill_id=fill.fill_id,
            symbol=fill.symbol,
            side=fill.side.value,
            qty=fill.qty,
            price=fill.price,
        )
        self._controls.audit_best_effort([drift])
        self._controls.events.append(drift)

    def _breach_safe_mode(self, effect: FillEffect) -> None:
        reason = f"risk breach on {effect.ticket.client_order_id}"
        try:
            self._controls.set_switch(SwitchName.SAFE_MODE, True, "system:risk-breach", reason)
        except StateUnavailableError as exc:
            self._controls.events.append(
                audit.record(
                    AuditKind.SAFE_MODE,
                    "safe_mode",
                    self._clock.now(),
                    "system:risk-breach",
                    on=True,
                    reason=reason,
                    audit_failed=f"{type(exc).__name__}: {exc}",
                )
            )
