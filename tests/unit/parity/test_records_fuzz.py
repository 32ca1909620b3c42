"""Any detail under a compared kind is read or reported unreadable: never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxtrader.domain.models import AuditKind, AuditRecord
from maxtrader.parity import decisions_of

pytestmark = pytest.mark.fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=8,
)  # fmt: skip
keys = st.sampled_from(["strategy", "symbol", "side", "entry", "stop", "target", "bar_ts",
                        "regime", "last_price", "signal_id", "purpose", "qty", "approved",
                        "failures", "reason"])  # fmt: skip


@given(
    kind=st.sampled_from([AuditKind.SIGNAL, AuditKind.VERDICT, AuditKind.NOT_SENT]),
    detail=st.dictionaries(keys, json_values | st.just("entry"), max_size=15),
)
def test_any_detail_is_read_or_reported_never_raised(kind: AuditKind, detail: dict) -> None:  # type: ignore[type-arg]
    record = AuditRecord(ts=datetime(2024, 7, 2, 14, tzinfo=UTC), kind=kind, subject="s" * 24,
                         detail=detail)  # fmt: skip
    got = decisions_of([record])
    read = len(got.signals) + len(got.decisions)
    assert read + len(got.unreadable) <= 1
    if kind is not AuditKind.VERDICT or detail.get("purpose") == "entry":
        assert read + len(got.unreadable) == 1  # a compared record is never silently dropped
