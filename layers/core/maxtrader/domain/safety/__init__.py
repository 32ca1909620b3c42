"""The runtime safety layer: pre-trade checks, breakers, health, switches and accounting.

Import the engine from ``maxtrader.domain.safety.engine`` (this package stays import-light so that
``maxtrader.domain.ports`` can import the state values without a cycle). See docs/safety-layer.md.
"""
