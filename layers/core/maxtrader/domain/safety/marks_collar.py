"""Marks are checked before they are booked: one absurd mark must not become profit.

A mark passes when it is within ``marks.collar_pct`` of the reference the caller gives for its
symbol (the last trade, or the model value), or, without a reference, within
``marks.max_ratio_to_entry`` times the position's average price either way. A refused mark is not
stored; the symbol keeps its previous mark only if that one shows no profit (so a refusal can
never leave a phantom gain behind), and the refusal is reported (audit, event, health).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from maxtrader.config.safety import Marks
from maxtrader.domain.safety.state import Ticket


def screen(
    marks: Mapping[str, float],
    references: Mapping[str, float],
    tickets: Sequence[Ticket],
    config: Marks,
) -> tuple[Mapping[str, float], dict[str, str]]:
    """(accepted marks, refused symbol -> reason). Hot path (a backtest marks every bar): when
    every mark passes, ``marks`` itself is returned and nothing is built."""
    refused: dict[str, str] = {}
    for symbol, mark in marks.items():
        why = _refusal(symbol, mark, references.get(symbol), tickets, config)
        if why:
            refused[symbol] = why
    if not refused:
        return marks, refused
    return {s: p for s, p in marks.items() if s not in refused}, refused


def _refusal(
    symbol: str, mark: float, reference: float | None, tickets: Sequence[Ticket], config: Marks
) -> str:
    if reference is not None:
        off = abs(mark - reference) / reference
        if off > config.collar_pct:
            return (
                f"mark {mark} is {off:.1%} from its reference {reference} "
                f"(collar {config.collar_pct:.0%})"
            )
        return ""
    ratio = config.max_ratio_to_entry
    for t in tickets:
        inside = t.avg_price / ratio <= mark <= t.avg_price * ratio
        if t.symbol == symbol and t.qty and t.avg_price > 0 and not inside:
            return f"mark {mark} is beyond {ratio}x of the entry {t.avg_price:.4f}"
    return ""


def no_phantom_profit(merged: dict[str, float], symbol: str, tickets: Sequence[Ticket]) -> None:
    """After a refusal: keep the symbol's previous mark only if it shows no profit."""
    previous = merged.get(symbol)
    if previous is None:
        return
    gain = sum(t.unrealized(previous) for t in tickets if t.symbol == symbol)
    if gain > 0:
        del merged[symbol]
