"""The simulated day as a self-contained HTML page, in the backtest report's style (its CSS).

Headline cards, the drill outcomes, rejections by check, the orders at the broker, breaker and
kill-switch events and the alerts delivered. Inline CSS only: no script, nothing fetched.
"""

from __future__ import annotations

from html import escape

from maxtrader.backtest.report import _CSS
from maxtrader.simulate.results import SimulationResult


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    empty = f'<tr><td class="muted" colspan="{len(headers)}">none</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or empty}</tbody></table>"


def _panel(title: str, inner: str) -> str:
    return f'<div class="panel"><h2>{escape(title)}</h2>{inner}</div>'


def render_simulation_html(result: SimulationResult) -> str:
    s = result.summary
    pnl_class = "up" if s.realized_pnl >= 0 else "down"
    cards = [
        ("signals", s.signals),
        ("approved", s.approvals),
        ("rejected", sum(s.rejections.values())),
        ("orders", len(s.orders)),
        ("fills", s.fills),
        ("realized P&L", f'<span class="{pnl_class}">{s.realized_pnl:+,.2f}</span>'),
        ("open at end", s.positions_open_at_end),
        ("alerts", len(s.alerts)),
    ]
    card_html = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{v}</div></div>'
        for k, v in cards
    )
    panels = [
        _panel(
            "Fault drills", _table(["drill", "outcome"], [[k, v] for k, v in result.faults.items()])
        ),
        _panel(
            "Rejections by check",
            _table(["check", "count"], [[k, v] for k, v in s.rejections.items()]),
        ),
        _panel(
            "Orders at the broker",
            _table(
                ["client_order_id", "symbol", "side", "qty", "status", "filled", "avg price"],
                [
                    [
                        o.client_order_id,
                        o.symbol,
                        o.side,
                        o.qty,
                        o.status,
                        o.filled_qty,
                        "" if o.filled_avg_price is None else f"{o.filled_avg_price:.2f}",
                    ]
                    for o in s.orders
                ],
            ),
        ),
        _panel(
            "Breakers and kill switch",
            _table(
                ["time", "event", "name", "detail"],
                [
                    [e["ts"], e["event"], e["breaker"], e.get("reason") or ""]
                    for e in s.breaker_events
                ]
                + [
                    [e["ts"], "switch", e["switch"], f"on={e['on']} by {e['actor']}"]
                    for e in s.kill_switch_events
                ],
            ),
        ),
        _panel("Alerts delivered", _table(["subject"], [[a] for a in s.alerts])),
        _panel(
            "Functions",
            _table(
                ["function", "ok", "failed"],
                [[k, v.get("ok", 0), v.get("failed", 0)] for k, v in result.invocations.items()]
                + [[n, "not deployed", ""] for n in result.not_deployed],
            ),
        ),
    ]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>MaxTrader simulate {result.day}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>Simulated session {result.day}</h1>"
        f'<div class="sub">{escape(result.source)} · stage {escape(result.stage)} · '
        f"{result.steps} steps in {result.elapsed_s:.1f}s · "
        f"parity: {escape(result.parity.status)} · "
        f"reconciliation: {'ok' if s.reconciliation.get('ok') else 'differs'}</div>"
        f'<div class="cards">{card_html}</div>{"".join(panels)}</main></body></html>'
    )
