"""MaxTrader: a multi-regime intraday trading system for US index ETFs.

The package is shipped to Lambda as a layer and installed locally in editable mode.
``domain`` and ``backtest`` are the pure core: they import no AWS, broker or vendor SDK.
"""

__version__ = "0.1.0"
