"""``import maxtrader.data`` and the push model stay light: pandas only with the file loaders."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "statement",
    [
        "import maxtrader.data",
        "from maxtrader.data import parse_minute_aggregates, MinuteAggregate",
        "from maxtrader.data import load_vix_daily",
    ],
)
def test_no_pandas_until_a_bar_file_is_loaded(statement: str) -> None:
    code = f"import sys; {statement}; print('pandas' in sys.modules)"
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "False"


def test_the_loader_does_bring_pandas() -> None:
    code = "import sys; from maxtrader.data import load_bars; print('pandas' in sys.modules)"
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert out.strip() == "True"
