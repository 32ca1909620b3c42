"""The names of the known strategies, with no imports, so models and key builders can check them.

A strategy's name is what per-strategy limits are counted under (check 7) and what a position
is traced back to; free text there would open a fresh counter per spelling. The strategy classes
carry these names (``domain/strategies``); tests/unit/test_strategy_names.py asserts that
``routing.STRATEGY_NAMES`` and this set are the same, so neither can drift.
"""

from __future__ import annotations

from typing import Final

from maxtrader.domain.errors import InvalidInputError

KNOWN_STRATEGIES: Final = frozenset({"wave_renko", "vwap_reversion", "pause", "smart_money"})


def known_strategy(name: str) -> str:
    """``name`` itself when it is a known strategy; otherwise an error naming the known ones."""
    if name not in KNOWN_STRATEGIES:
        known = ", ".join(sorted(KNOWN_STRATEGIES))
        raise InvalidInputError(f"unknown strategy {name!r:.80}; known: {known}")
    return name
