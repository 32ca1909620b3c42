"""The HTML report renders for empty and for small results, self-contained."""

from __future__ import annotations

from datetime import date

from maxtrader.backtest.report import render_html
from maxtrader.backtest.summary import build_result

from .test_metrics import session, trade


def test_an_empty_result_renders():
    html = render_html(build_result(trades=[], sessions=[], initial_equity=1e4, bars=0))
    assert "No sessions." in html and "no trades" in html


def test_a_result_renders_its_figures_without_external_resources():
    days = [date(2024, 6, 3), date(2024, 6, 4), date(2024, 7, 1)]
    trades = [trade(days[0], 0, 120.0), trade(days[1], 0, -80.0)]
    result = build_result(
        trades=trades, sessions=[session(d) for d in days], initial_equity=1e4, bars=3
    )
    html = render_html(result)
    assert html.count("<tr><td>2024-06-0") == 2  # both trades listed
    assert "Jun 24" in html and "Jul 24" in html  # month ticks
    assert "+$40" in html  # net P&L card
    for external in ("http://", "https://", "<script", "@import", "url(http"):
        assert external not in html
