"""The JSON result of a backtest, as pydantic models (the schema the CLI writes with ``--json``).

    BacktestResult {label, out_of_sample, start, end, settings, metrics, by_regime, by_strategy,
                    rejections {check name: count}, trades [TradeRecord], sessions [SessionRecord],
                    windows [WindowRecord], bars, elapsed_s, notes}

Money is in dollars; times are aware (UTC) datetimes; ``profit_factor`` and ``sharpe`` are null
when undefined (no losing trade, fewer than two sessions, zero variance) rather than infinite,
because JSON has no infinity.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from maxtrader.domain.models import Direction, Instrument, Regime


class ResultModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TradeRecord(ResultModel):
    """One round trip: the entry fill and the exit fill of one signal."""

    signal_id: str
    symbol: str  # what was traded: the underlying (equity) or the OCC option symbol
    underlying: str
    strategy: str
    regime: Regime
    side: Direction  # direction on the underlying
    instrument: Instrument
    entry_time: datetime
    entry_price: float  # per unit actually paid (option: per option share, ask)
    exit_time: datetime
    exit_price: float
    qty: int  # shares or contracts
    fees: float
    pnl: float  # net of fees and slippage
    risk: float  # the max loss at entry (the R of avg_r)
    exit_reason: str  # stop | target | time_stop | flatten | end_of_data
    underlying_entry: float
    underlying_exit: float
    stop: float
    target: float

    @property
    def r_multiple(self) -> float:
        return self.pnl / self.risk if self.risk > 0 else 0.0


class Metrics(ResultModel):
    trades: int
    wins: int
    win_rate: float
    profit_factor: float | None
    pnl: float
    gross_profit: float
    gross_loss: float
    max_drawdown: float  # dollars, peak-to-trough of cumulative closed P&L (>= 0)
    max_drawdown_pct: float  # the same, as a fraction of the peak equity
    sharpe: float | None  # daily returns, annualised by sqrt(252)
    trades_per_month: float  # per 21 sessions
    avg_r: float
    avg_pnl: float
    sessions: int


class SessionRecord(ResultModel):
    """One session: its regime, strategy and realized P&L (the daily return series)."""

    day: date
    regime: Regime
    vix: float | None
    strategy: str | None
    start_equity: float
    pnl: float
    trades: int
    rejections: dict[str, int] = Field(default_factory=dict)  # failed checks, by name
    verdicts: dict[str, int] = Field(default_factory=dict)  # approved / rejected / exits / ...
    breaker_trips: dict[str, int] = Field(default_factory=dict)


class WindowRecord(ResultModel):
    """One walk-forward window: parameters picked on train, applied to test."""

    train_start: date
    train_end: date
    test_start: date
    test_end: date
    params: dict[str, str]
    train_score: float
    test_pnl: float
    test_trades: int


class EquityPoint(ResultModel):
    ts: datetime
    equity: float


class BacktestResult(ResultModel):
    label: str = "in-sample"
    out_of_sample: bool = False
    start: date | None = None
    end: date | None = None
    initial_equity: float
    settings: dict[str, str] = Field(default_factory=dict)
    metrics: Metrics
    by_regime: dict[str, Metrics]
    by_strategy: dict[str, Metrics]
    rejections: dict[str, int]
    verdicts: dict[str, int] = Field(default_factory=dict)  # approved / rejected / exits
    breaker_trips: dict[str, int] = Field(default_factory=dict)
    trades: list[TradeRecord]
    sessions: list[SessionRecord]
    equity_curve: list[EquityPoint] = Field(default_factory=list)
    windows: list[WindowRecord] = Field(default_factory=list)
    bars: int
    elapsed_s: float = 0.0
    notes: list[str] = Field(default_factory=list)
