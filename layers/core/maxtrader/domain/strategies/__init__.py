"""Regime strategies: incremental, serializable state machines over closed 1-minute bars.

See base.py for the Strategy protocol and routing.py for ``strategy_for(regime, config)``.
"""
