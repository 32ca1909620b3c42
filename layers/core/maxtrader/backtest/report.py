"""The self-contained HTML report: inline CSS and SVG only (no script, no CDN, no fonts fetched).

    html = render_html(result)      # str; write it anywhere and open it offline

Sections: headline figures, equity curve with the drawdown below it (end-of-session equity),
per-regime and per-strategy tables, safety rejections by check, walk-forward windows (when the
result is out-of-sample) and the trade list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from maxtrader.backtest.results import BacktestResult, Metrics, SessionRecord
from maxtrader.domain.clock import NEW_YORK

_CSS = """
:root{color-scheme:dark;--bg:#0f1419;--panel:#171e26;--ink:#e6edf3;--muted:#8b98a5;--line:#2a3441;
--up:#3fb68b;--down:#f0616d;--accent:#5aa9e6;--warn:#e3b341}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:22px;margin:0 0 4px;font-weight:600}
h2{font-size:15px;margin:0 0 12px;font-weight:600;color:var(--ink);letter-spacing:.02em}
.sub{color:var(--muted);margin-bottom:22px}
.badge{display:inline-block;padding:2px 9px;border-radius:10px;font-size:12px;font-weight:600;
margin-left:10px;vertical-align:middle}
.oos{background:rgba(63,182,139,.15);color:var(--up);border:1px solid rgba(63,182,139,.4)}
.ins{background:rgba(227,179,65,.12);color:var(--warn);border:1px solid rgba(227,179,65,.4)}
.cards{display:grid;grid-template-columns:repeat(8,1fr);gap:12px;margin-bottom:22px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.06em}
.card .v{font-size:20px;font-weight:600;margin-top:4px;font-variant-numeric:tabular-nums}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:16px 18px;
margin-bottom:18px;overflow-x:auto}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:6px 8px;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:500;font-size:12px}
th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left}
tr:hover td{background:rgba(90,169,230,.06)}
.up{color:var(--up)}.down{color:var(--down)}.muted{color:var(--muted)}
.scroll{max-height:560px;overflow:auto}
.scroll thead th{position:sticky;top:0;background:var(--panel)}
.bar{height:10px;border-radius:5px;background:var(--down);opacity:.8}
.notes{color:var(--muted);font-size:12.5px;margin:0;padding-left:18px}
svg text{fill:var(--muted);font-size:11px}
"""


def render_html(result: BacktestResult) -> str:
    m = result.metrics
    badge = (
        '<span class="badge oos">OUT-OF-SAMPLE</span>'
        if result.out_of_sample
        else '<span class="badge ins">IN-SAMPLE</span>'
    )
    span = f"{result.start} → {result.end}" if result.start else "no sessions"
    symbols = result.settings.get("symbols", "")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>MaxTrader backtest {escape(span)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>MaxTrader backtest{badge}</h1>",
        f"<div class='sub'>{escape(result.label)} · {escape(span)} · {escape(symbols)} · "
        f"{m.sessions} sessions · {result.bars:,} bars · start equity "
        f"${result.initial_equity:,.0f}</div>",
        _cards(m),
        "<div class='panel'><h2>Equity and drawdown (end of session)</h2>",
        _equity_svg(result.sessions, result.initial_equity),
        "</div>",
        _metrics_panel("By regime", result.by_regime),
        _metrics_panel("By strategy", result.by_strategy),
        "<div class='grid2'>",
        _rejections_panel(result.rejections, result.verdicts, result.breaker_trips),
        _regime_days_panel(result.sessions),
        "</div>",
    ]
    if result.windows:
        parts.append(_windows_panel(result))
    parts.append(_trades_panel(result))
    if result.notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
        parts.append(f"<div class='panel'><h2>Notes</h2><ul class='notes'>{items}</ul></div>")
    parts.append("</main></body></html>")
    return "".join(parts)


# --- pieces ---------------------------------------------------------------------------------
def _money(x: float, sign: bool = True) -> str:
    s = f"{'+' if sign and x > 0 else ''}{x:,.0f}"
    return s.replace("-", "−")


def _dollars(x: float) -> str:
    sign = "−" if x < 0 else "+" if x > 0 else ""
    return f"{sign}${abs(x):,.0f}"


def _cls(x: float) -> str:
    return "up" if x > 0 else "down" if x < 0 else "muted"


def _opt(x: float | None, fmt: str) -> str:
    return "—" if x is None else format(x, fmt)


def _cards(m: Metrics) -> str:
    cards = [
        ("Net P&L", f"<span class='{_cls(m.pnl)}'>{_dollars(m.pnl)}</span>"),
        ("Trades", f"{m.trades}"),
        ("Win rate", f"{m.win_rate:.1%}"),
        ("Profit factor", _opt(m.profit_factor, ".2f")),
        ("Sharpe (daily, ann.)", _opt(m.sharpe, ".2f")),
        ("Max drawdown", f"<span class='down'>${m.max_drawdown:,.0f}</span>"),
        ("Trades / month", f"{m.trades_per_month:.1f}"),
        ("Avg R", f"<span class='{_cls(m.avg_r)}'>{m.avg_r:+.2f}</span>"),
    ]
    body = "".join(
        f"<div class='card'><div class='k'>{k}</div><div class='v'>{v}</div></div>"
        for k, v in cards
    )
    return f"<div class='cards'>{body}</div>"


def _equity_svg(sessions: Sequence[SessionRecord], initial: float) -> str:
    if not sessions:
        return "<p class='muted'>No sessions.</p>"
    days: list[date] = []
    equity: list[float] = []
    level = initial
    for s in sessions:
        level += s.pnl
        days.append(s.day)
        equity.append(level)
    peak = initial
    dd: list[float] = []
    for e in equity:
        peak = max(peak, e)
        dd.append((e - peak) / peak * 100 if peak else 0.0)
    width, eq_h, dd_h, left, right, top, gap = 1200, 300, 110, 70, 16, 12, 30
    n = len(equity)
    lo = min(*equity, initial)
    hi = max(*equity, initial)
    if hi - lo < 1e-9:
        hi, lo = hi + 1, lo - 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    plot_w = width - left - right

    def x(i: int) -> float:
        return left + (plot_w * i / max(n - 1, 1))

    def y(v: float) -> float:
        return top + eq_h * (hi - v) / (hi - lo)

    dd_lo = min(*dd, -0.5)
    dd_top = top + eq_h + gap

    def yd(v: float) -> float:
        return dd_top + dd_h * (v / dd_lo)

    pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(equity))
    area = f"{x(0):.1f},{y(lo):.1f} {pts} {x(n - 1):.1f},{y(lo):.1f}"
    dd_pts = " ".join(f"{x(i):.1f},{yd(v):.1f}" for i, v in enumerate(dd))
    dd_area = f"{x(0):.1f},{yd(0):.1f} {dd_pts} {x(n - 1):.1f},{yd(0):.1f}"
    total_h = dd_top + dd_h + 28
    color = "#3fb68b" if equity[-1] >= initial else "#f0616d"
    out = [
        f"<svg viewBox='0 0 {width} {total_h}' width='100%' role='img' "
        "aria-label='equity curve and drawdown'>",
        "<defs><linearGradient id='eqfill' x1='0' y1='0' x2='0' y2='1'>"
        f"<stop offset='0' stop-color='{color}' stop-opacity='.28'/>"
        f"<stop offset='1' stop-color='{color}' stop-opacity='0'/></linearGradient></defs>",
    ]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y(v):.1f}' y2='{y(v):.1f}' "
            "stroke='#2a3441' stroke-width='1'/>"
            f"<text x='{left - 8}' y='{y(v) + 4:.1f}' text-anchor='end'>${v:,.0f}</text>"
        )
    out.append(
        f"<line x1='{left}' x2='{width - right}' y1='{y(initial):.1f}' y2='{y(initial):.1f}' "
        "stroke='#8b98a5' stroke-dasharray='4 4' stroke-width='1'/>"
    )
    out.append(f"<polygon points='{area}' fill='url(#eqfill)'/>")
    out.append(f"<polyline points='{pts}' fill='none' stroke='{color}' stroke-width='2'/>")
    for k in range(3):
        v = dd_lo * k / 2 if k else 0.0
        out.append(
            f"<line x1='{left}' x2='{width - right}' y1='{yd(v):.1f}' y2='{yd(v):.1f}' "
            "stroke='#2a3441' stroke-width='1'/>"
            f"<text x='{left - 8}' y='{yd(v) + 4:.1f}' text-anchor='end'>{v:.1f}%</text>"
        )
    out.append(f"<polygon points='{dd_area}' fill='#f0616d' fill-opacity='.35'/>")
    out.append(f"<polyline points='{dd_pts}' fill='none' stroke='#f0616d' stroke-width='1.2'/>")
    out.append(f"<text x='{left}' y='{dd_top - 8}'>Drawdown from peak</text>")
    out.extend(_month_ticks(days, [x(i) for i in range(n)], dd_top + dd_h))
    out.append("</svg>")
    return "".join(out)


def _month_ticks(days: Sequence[date], xs: Sequence[float], base: float) -> list[str]:
    """A tick and label at each month's first session, skipping labels that would overlap."""
    out: list[str] = []
    last_month: tuple[int, int] | None = None
    last_x = -1e9
    for d, xi in zip(days, xs, strict=True):
        key = (d.year, d.month)
        if key == last_month:
            continue
        last_month = key
        if xi - last_x < 48:
            continue
        last_x = xi
        out.append(
            f"<line x1='{xi:.1f}' x2='{xi:.1f}' y1='{base}' y2='{base + 5}' stroke='#8b98a5'/>"
            f"<text x='{xi:.1f}' y='{base + 18}' text-anchor='middle'>{d:%b %y}</text>"
        )
    return out


def _metrics_panel(title: str, groups: dict[str, Metrics]) -> str:
    head = (
        "<tr><th>name</th><th>sessions</th><th>trades</th><th>win</th><th>PF</th>"
        "<th>P&amp;L</th><th>max DD</th><th>Sharpe</th><th>/month</th><th>avg R</th></tr>"
    )
    rows = []
    for name, m in groups.items():
        win = f"{m.win_rate:.0%}" if m.trades else "—"
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{m.sessions}</td><td>{m.trades}</td>"
            f"<td>{win}</td><td>{_opt(m.profit_factor, '.2f')}</td>"
            f"<td class='{_cls(m.pnl)}'>{_money(m.pnl)}</td><td>{m.max_drawdown:,.0f}</td>"
            f"<td>{_opt(m.sharpe, '.2f')}</td><td>{m.trades_per_month:.1f}</td>"
            f"<td class='{_cls(m.avg_r)}'>{m.avg_r:+.2f}</td></tr>"
        )
    body = "".join(rows) or "<tr><td colspan='10' class='muted'>none</td></tr>"
    return f"<div class='panel'><h2>{title}</h2><table>{head}{body}</table></div>"


def _rejections_panel(
    rejections: dict[str, int], verdicts: dict[str, int], trips: dict[str, int]
) -> str:
    summary = " · ".join(f"{escape(k)} {v}" for k, v in sorted(verdicts.items())) or "none"
    top = max(rejections.values(), default=0)
    rows = []
    for name, count in rejections.items():
        width = 100 * count / top if top else 0
        rows.append(
            f"<tr><td>{escape(name)}</td><td style='width:55%'>"
            f"<div class='bar' style='width:{width:.1f}%'></div></td><td>{count}</td></tr>"
        )
    body = "".join(rows) or "<tr><td colspan='3' class='muted'>no entry was rejected</td></tr>"
    trip_text = " · ".join(f"{escape(k)} ×{v}" for k, v in trips.items()) or "none"
    return (
        "<div class='panel'><h2>Safety layer: rejections by check</h2>"
        f"<div class='muted' style='margin-bottom:8px'>verdicts: {summary}<br>"
        f"breaker trips: {trip_text}</div><table>{body}</table></div>"
    )


def _regime_days_panel(sessions: Sequence[SessionRecord]) -> str:
    counts: dict[str, int] = {}
    for s in sessions:
        counts[s.regime.value] = counts.get(s.regime.value, 0) + 1
    colors = {
        "EXTREME_CALM_PAUSE": "#8b98a5",
        "ULTRA_LOW_VOL": "#5aa9e6",
        "NORMAL_VOL": "#3fb68b",
        "HIGH_VOL": "#f0616d",
        "UNKNOWN": "#e3b341",
    }
    n = len(sessions) or 1
    strip_w = 560
    cells = []
    for i, s in enumerate(sessions):
        w = strip_w / n
        cells.append(
            f"<rect x='{i * w:.2f}' y='0' width='{w + 0.3:.2f}' height='26' "
            f"fill='{colors.get(s.regime.value, '#555')}'><title>{s.day} {s.regime.value} "
            f"VIX {_opt(s.vix, '.2f')}</title></rect>"
        )
    legend = "".join(
        f"<tr><td><span style='display:inline-block;width:10px;height:10px;border-radius:2px;"
        f"background:{colors.get(k, '#555')};margin-right:8px'></span>{escape(k)}</td>"
        f"<td>{v}</td><td>{v / n:.0%}</td></tr>"
        for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    return (
        "<div class='panel'><h2>Regime by session (prior VIX close)</h2>"
        f"<svg viewBox='0 0 {strip_w} 26' width='100%' preserveAspectRatio='none' "
        f"style='height:26px;border-radius:4px'>{''.join(cells)}</svg>"
        f"<table style='margin-top:10px'><tr><th>regime</th><th>sessions</th><th>share</th></tr>"
        f"{legend}</table></div>"
    )


def _windows_panel(result: BacktestResult) -> str:
    rows = []
    for w in result.windows:
        params = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in w.params.items())
        rows.append(
            f"<tr><td>{w.train_start} → {w.train_end}</td><td>{w.test_start} → {w.test_end}</td>"
            f"<td class='l'>{escape(params)}</td><td>{w.train_score:,.2f}</td>"
            f"<td>{w.test_trades}</td><td class='{_cls(w.test_pnl)}'>{_money(w.test_pnl)}</td></tr>"
        )
    return (
        "<div class='panel'><h2>Walk-forward windows (parameters picked on train only)</h2>"
        "<table><tr><th>train</th><th>test (out-of-sample)</th><th class='l'>picked</th>"
        f"<th>train score</th><th>test trades</th><th>test P&amp;L</th></tr>{''.join(rows)}"
        "</table></div>"
    )


def _trades_panel(result: BacktestResult) -> str:
    rows = []
    for t in result.trades:
        et = t.entry_time.astimezone(NEW_YORK)
        xt = t.exit_time.astimezone(NEW_YORK)
        rows.append(
            f"<tr><td>{et:%Y-%m-%d %H:%M}</td><td>{xt:%H:%M}</td><td class='l'>{escape(t.symbol)}"
            f"</td><td class='l'>{escape(t.strategy)}</td><td class='l'>{t.regime.value}</td>"
            f"<td class='l'>{t.side.value}</td><td>{t.qty}</td><td>{t.entry_price:,.2f}</td>"
            f"<td>{t.exit_price:,.2f}</td><td class='l'>{escape(t.exit_reason)}</td>"
            f"<td class='{_cls(t.r_multiple)}'>{t.r_multiple:+.2f}</td>"
            f"<td class='{_cls(t.pnl)}'>{_money(t.pnl)}</td></tr>"
        )
    body = "".join(rows) or "<tr><td colspan='12' class='muted'>no trades</td></tr>"
    return (
        f"<div class='panel'><h2>Trades ({len(result.trades)})</h2><div class='scroll'><table>"
        "<thead><tr><th>entry (NY)</th><th>exit</th><th class='l'>symbol</th>"
        "<th class='l'>strategy</th><th class='l'>regime</th><th class='l'>side</th><th>qty</th>"
        "<th>entry</th><th>exit</th><th class='l'>reason</th><th>R</th><th>P&amp;L</th></tr>"
        f"</thead><tbody>{body}</tbody></table></div></div>"
    )
