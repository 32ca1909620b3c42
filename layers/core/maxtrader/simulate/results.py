"""What ``maxtrader simulate`` returns and ``--json`` writes."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from maxtrader.simulate.metering import FunctionUsage
from maxtrader.simulate.parity import ParityResult
from maxtrader.simulate.summary import OrderRow, Summary


class SimulationResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    day: date
    source: str
    stage: str
    steps: int
    deployed: list[str]
    not_deployed: list[str]
    skipped_invocations: dict[str, int] = Field(default_factory=dict)
    invocations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    queue_depth: dict[str, int] = Field(default_factory=dict)
    summary: Summary
    faults: dict[str, str] = Field(default_factory=dict)
    parity: ParityResult = ParityResult()
    usage: dict[str, FunctionUsage] = Field(default_factory=dict)  # AWS requests, billed units
    elapsed_s: float = 0.0

    @property
    def orders(self) -> list[OrderRow]:
        return self.summary.orders

    def to_json(self) -> dict[str, Any]:
        """The summary's fields at the top level, beside the run's own (the documented shape:
        ``orders``, ``positions_open_at_end``, ``faults``, ``parity`` ...)."""
        data = self.model_dump(mode="json", exclude={"summary"})
        return {**data, **self.summary.model_dump(mode="json")}
