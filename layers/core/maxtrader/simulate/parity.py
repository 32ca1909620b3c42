"""The parity hook: the same bars through the backtester against the simulated live day.

The comparison itself is helper ``parity``'s (``maxtrader.parity``); until it is wired the
simulator reports ``{"ok": null, "status": "not run"}`` and says so. To wire it, replace
``parity_placeholder()`` in ``runner.Simulation._result`` with a call that takes the day's
bars, VIX and audit log (``Simulation.input``, ``Simulation.audit``) and returns this shape.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ParityResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    ok: bool | None = None  # None: not run
    status: str = "not run"
    differences: list[dict[str, object]] = Field(default_factory=list)


def parity_placeholder() -> ParityResult:
    return ParityResult(status="not run (maxtrader.parity is not wired into simulate yet)")
