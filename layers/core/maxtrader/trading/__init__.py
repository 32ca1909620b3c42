"""The trading decisions both drivers make (the backtester and the Lambdas): pure functions.

Modules (each a small public API, documented in its docstring):
    entries    signal -> sized OrderIntent (risk budget, contract choice from a chain snapshot,
               premium, fees), or the typed reason it is not sent (NotSent)
    exits      exit triggers of an open position on a bar and at a time (stop, target, stop
               first on a bar touching both, time stop, flatten, the regime's flatten) and the
               reduce-only exit intent of a ticket
    positions  the one position model (the safety Ticket) and its direction convention
    regime     the live regime function's tick, its replay over an intraday VIX series, and
               the prior daily close (the backtest default)
    session    the bar-driven session step: regime policy -> strategy step -> signals

The package imports nothing vendor-shaped and never reads the wall clock (a test enforces it);
the safety engine stays the one gate every intent passes (domain/safety).
"""
