"""The imports backtest/__init__.py documents work, and each is the module's own object."""

from __future__ import annotations

import importlib

import pytest

from maxtrader import backtest


@pytest.mark.parametrize("name", backtest.__all__)
def test_each_documented_name_imports(name: str) -> None:
    module = importlib.import_module(f"maxtrader.backtest.{backtest._HOME[name]}")
    assert getattr(backtest, name) is getattr(module, name)
    assert name in backtest.__doc__ or name == "BacktestResult"


def test_the_documented_import_line_works() -> None:
    from maxtrader.backtest import (  # noqa: F401
        Backtester,
        BacktestSettings,
        RunConfig,
        apply_overrides,
        render_html,
        walk_forward,
    )

    assert Backtester.run.__name__ == "run"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Backtest'"):
        _ = backtest.Backtest
