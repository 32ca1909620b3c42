"""Position sizing by risk budget.

    risk_budget(equity, rules) = min(risk_pct x equity, risk_abs); 0 when equity <= 0
    shares_for_risk(budget, entry, stop) = the largest qty with qty x |entry - stop| <= budget
Options are sized by premium instead: options.contracts_for_budget(budget, ask).
"""

from __future__ import annotations

import math

from maxtrader.config.strategies import OptionRules
from maxtrader.domain.errors import InvalidInputError


def risk_budget(equity: float, rules: OptionRules) -> float:
    if not math.isfinite(equity):
        raise InvalidInputError(f"equity must be finite, got {equity}")
    if equity <= 0:
        return 0.0
    return min(rules.risk_pct * equity, rules.risk_abs)


def shares_for_risk(budget: float, entry: float, stop: float) -> int:
    """Shares such that qty x |entry - stop| <= budget (0 when the budget buys none)."""
    risk = abs(entry - stop)
    if not (math.isfinite(risk) and risk > 0):
        raise InvalidInputError(f"entry ({entry}) and stop ({stop}) must differ to size by risk")
    if not math.isfinite(budget) or budget <= 0:
        return 0
    qty = math.floor(budget / risk)
    while qty > 0 and qty * risk > budget:
        qty -= 1
    return qty
