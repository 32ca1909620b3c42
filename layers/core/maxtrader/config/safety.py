"""configs/safety.yaml: pre-trade limits, regime overrides, circuit breakers, health, alerts,
the monitor's thresholds.

Defaults are those of ../shared/specs/safety.md.
"""

from __future__ import annotations

from typing import Annotated, Final, Self

from pydantic import Field, field_validator, model_validator

from maxtrader.config.base import (
    ConfigModel,
    Fraction,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from maxtrader.domain.models import Regime


class Limits(ConfigModel):
    """The limits the pre-trade checks enforce (the numbered checks of the spec)."""

    max_daily_loss_pct: Fraction = 0.02  # check 4, with max_daily_loss_abs: the tighter applies
    max_daily_loss_abs: PositiveFloat = 2000.0
    max_concurrent_positions: NonNegativeInt = 3  # check 5
    max_daily_trades: NonNegativeInt = 10  # check 6
    max_daily_trades_per_strategy: NonNegativeInt = 5  # check 7
    min_seconds_between_trades: NonNegativeInt = 60  # check 8
    max_position_pct: Fraction = 0.01  # check 9
    max_premium: PositiveFloat = 500.0  # check 10
    max_exposure_pct: Fraction = 0.03  # check 11
    min_rr: PositiveFloat = 1.5  # check 12
    max_weekly_loss_pct: Fraction = 0.05
    max_monthly_loss_pct: Fraction = 0.10
    price_collar_pct: Fraction = 0.01
    # One order's notional (qty x price x multiplier) vs equity; 4 = a margin account's intraday
    # buying power. It is also capped by the broker's buying power (MarketContext).
    max_notional_x_equity: PositiveFloat = 4.0


class LimitsOverride(ConfigModel):
    """A partial Limits: any key given replaces the base value for that regime."""

    max_daily_loss_pct: Fraction | None = None
    max_daily_loss_abs: PositiveFloat | None = None
    max_concurrent_positions: NonNegativeInt | None = None
    max_daily_trades: NonNegativeInt | None = None
    max_daily_trades_per_strategy: NonNegativeInt | None = None
    min_seconds_between_trades: NonNegativeInt | None = None
    max_position_pct: Fraction | None = None
    max_premium: PositiveFloat | None = None
    max_exposure_pct: Fraction | None = None
    min_rr: PositiveFloat | None = None
    max_weekly_loss_pct: Fraction | None = None
    max_monthly_loss_pct: Fraction | None = None
    price_collar_pct: Fraction | None = None
    max_notional_x_equity: PositiveFloat | None = None


class ExtraChecks(ConfigModel):
    """Checks beyond the original twelve; each can be switched off, all are on by default."""

    weekly_loss: bool = True
    monthly_loss: bool = True
    duplicate_signal: bool = True
    price_collar: bool = True
    account_flags: bool = True


class RapidLossBreaker(ConfigModel):
    losses: PositiveInt = 3
    window_minutes: PositiveInt = 30
    pause_minutes: PositiveInt = 60


class ErrorRateBreaker(ConfigModel):
    errors: PositiveInt = 5
    window_minutes: PositiveInt = 10
    pause_minutes: PositiveInt = 30


class DrawdownBreaker(ConfigModel):
    max_drawdown_pct: Fraction = 0.03
    pause_minutes: PositiveInt = 120
    # When the pause ends, measure drawdown from the equity at that moment, so the breaker guards
    # against a further drop instead of re-tripping at once forever (the daily, weekly and monthly
    # loss limits still cap the cumulative loss). false: stay paused until an operator resets
    # the peak.
    rebase_peak_on_reset: bool = True


class HighWaterMarkStop(ConfigModel):
    # (high-water mark - equity) / high-water mark at which entries halt until an operator
    # re-arms the stop. Unlike the drawdown breaker's peak, the mark is never re-based by a pause.
    max_drawdown_pct: Fraction = 0.10


class Breakers(ConfigModel):
    rapid_loss: RapidLossBreaker = RapidLossBreaker()
    error_rate: ErrorRateBreaker = ErrorRateBreaker()
    drawdown: DrawdownBreaker = DrawdownBreaker()
    high_water_mark: HighWaterMarkStop = HighWaterMarkStop()


class Figures(ConfigModel):
    """How far a caller's equity, start-of-day equity or reward/risk may differ (relative) from
    what the engine computes or has stored before the entry fails closed; and how far a fill's
    real risk may exceed its reservation before it is a breach (alert + safe mode; the exposure
    always follows the real risk)."""

    tolerance_pct: Fraction = 0.01
    breach_tolerance_pct: Fraction = 0.10


class Marks(ConfigModel):
    """The collar a mark must pass to be booked: within ``collar_pct`` of the reference the caller
    gives (last trade or model value); without one, within ``max_ratio_to_entry`` x of the
    position's average price either way."""

    collar_pct: Fraction = 0.25
    max_ratio_to_entry: Annotated[float, Field(gt=1, allow_inf_nan=False)] = 5.0


class Health(ConfigModel):
    max_staleness_seconds: PositiveInt = 300
    vix_max_age_seconds: PositiveInt = 900
    max_consecutive_failures: PositiveInt = 3
    # A bar or VIX value stamped further ahead of our clock than this fails its freshness check.
    max_clock_skew_seconds: NonNegativeInt = 5


class Alerts(ConfigModel):
    alert_cooldown_minutes: NonNegativeInt = 15


class Monitor(ConfigModel):
    """The monitor function's thresholds (docs/monitor.md)."""

    # A reservation the broker has not acknowledged after this long is looked up by its
    # client_order_id. Longer than execute's in-flight bound (Execution.in_flight_seconds): by
    # then it sent or never will, so "absent" is certain (SafetyConfig refuses a shorter one).
    ack_timeout_seconds: PositiveInt = 240
    # Lookups that could not say (broker errors) before the reservation is released with an alert.
    lookup_attempts: PositiveInt = 3
    # Exit orders per position (attempt 1 is mt-<signal>-exit): beyond, the operator is paged.
    max_exit_attempts: PositiveInt = 3
    # How far back the underlying's stored bars are read for a stop or target touched.
    bar_lookback_minutes: PositiveInt = 30
    # The newest stored bar younger than this is a mark's collar reference.
    reference_max_age_seconds: PositiveInt = 300


class Execution(ConfigModel):
    """How the execute function turns one signal into one order (docs/execution.md).

    A signal decided more than ``signal_max_age_seconds`` ago is not sent (a late minute bar's
    price is not today's); an option chain whose stalest quote is older than
    ``quote_max_age_seconds`` is not traded on. One order is sent at most ``submit_attempts``
    times, each resend only after a lookup by client_order_id found nothing, ``backoff_seconds``
    doubling up to ``backoff_max_seconds`` in between. A reserved ticket is in flight until
    ``signal_max_age_seconds + in_flight_grace_seconds`` after it was reserved; after that,
    execute never sends it and the monitor resolves it (confirm or release after a lookup).
    """

    signal_max_age_seconds: PositiveInt = 60
    quote_max_age_seconds: PositiveInt = 60
    submit_attempts: Annotated[PositiveInt, Field(le=10)] = 3
    backoff_seconds: PositiveFloat = 0.25
    backoff_max_seconds: PositiveFloat = 2.0
    in_flight_grace_seconds: PositiveInt = 120

    @model_validator(mode="after")
    def _backoff_ordered(self) -> Self:
        if self.backoff_max_seconds < self.backoff_seconds:
            raise ValueError("backoff_max_seconds must not be below backoff_seconds")
        return self

    @property
    def in_flight_seconds(self) -> int:
        """How long after its reservation execute may still send an order (then never)."""
        return self.signal_max_age_seconds + self.in_flight_grace_seconds


def _default_overrides() -> dict[Regime, LimitsOverride]:
    def pair(trades: int, positions: int) -> LimitsOverride:
        return LimitsOverride(max_daily_trades=trades, max_concurrent_positions=positions)

    return {
        Regime.NORMAL_VOL: pair(10, 3),
        Regime.ULTRA_LOW_VOL: pair(5, 2),
        Regime.EXTREME_CALM_PAUSE: pair(0, 0),
        Regime.HIGH_VOL: pair(3, 1),
        Regime.UNKNOWN: pair(0, 0),
    }


# The regimes the specification closes to entries (0 trades / 0 positions): a config that opens
# one is legal, and `maxtrader config validate` warns about it.
CLOSED_REGIMES: Final = (Regime.EXTREME_CALM_PAUSE, Regime.UNKNOWN)


class SafetyConfig(ConfigModel):
    limits: Limits = Limits()
    checks: ExtraChecks = ExtraChecks()
    regime_overrides: dict[Regime, LimitsOverride] = Field(default_factory=_default_overrides)
    breakers: Breakers = Breakers()
    health: Health = Health()
    alerts: Alerts = Alerts()
    figures: Figures = Figures()
    marks: Marks = Marks()
    monitor: Monitor = Monitor()
    execution: Execution = Execution()

    @model_validator(mode="after")
    def _monitor_waits_out_execute(self) -> Self:
        # The monitor releases an unacknowledged reservation it cannot find: only safe once
        # execute can no longer send it, or the order would reach the broker unreserved.
        bound = self.execution.in_flight_seconds
        if self.monitor.ack_timeout_seconds <= bound:
            raise ValueError(
                f"monitor.ack_timeout_seconds ({self.monitor.ack_timeout_seconds}) must exceed "
                f"execution.signal_max_age_seconds + in_flight_grace_seconds ({bound})"
            )
        return self

    @field_validator("regime_overrides", mode="after")
    @classmethod
    def _merged_over_the_specification(
        cls, given: dict[Regime, LimitsOverride]
    ) -> dict[Regime, LimitsOverride]:
        """Each regime's keys merge over the specification's override of that regime.

        A file that lists only HIGH_VOL keeps every other regime's default (UNKNOWN and
        EXTREME_CALM_PAUSE stay at 0/0), and ``UNKNOWN: {min_rr: 2}`` tightens UNKNOWN without
        opening it: only the keys a file names replace a default, so opening a closed regime
        takes naming its trades and positions.
        """
        merged = _default_overrides()
        for regime, override in given.items():
            keys = merged[regime].model_dump(exclude_none=True)
            merged[regime] = LimitsOverride.model_validate(
                keys | override.model_dump(exclude_none=True)
            )
        return merged

    def limits_for(self, regime: Regime) -> Limits:
        """Base limits with the regime's override merged over them; the override stands."""
        override = self.regime_overrides.get(regime)
        if override is None:
            return self.limits
        merged = self.limits.model_dump() | override.model_dump(exclude_none=True)
        return Limits.model_validate(merged)

    def warnings(self) -> list[str]:
        """Legal but worth a second look: a regime the specification closes, opened; a check the
        specification turns on, switched off."""
        out = [
            f"checks.{name}: off; the specification turns it on"
            for name, on in self.checks.model_dump().items()
            if not on
        ]
        for regime in CLOSED_REGIMES:
            limits = self.limits_for(regime)
            trades, positions = limits.max_daily_trades, limits.max_concurrent_positions
            if trades or positions:
                admits = "admits entries" if trades and positions else "is partly opened"
                out.append(
                    f"regime_overrides.{regime.value}: {admits} (max_daily_trades {trades}, "
                    f"max_concurrent_positions {positions}); the specification keeps "
                    f"{regime.value} at 0/0, no entries"
                )
        return out
