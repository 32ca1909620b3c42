"""What the fuzz tests of the file loaders put into a CSV cell."""

from __future__ import annotations

from hypothesis import strategies as st

CSV_CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "-1", "0", "1e308", "1e400", "1.64E+12",
                     "abc", "2024-06-03", "NaT", "2024-06-03T13:30:00Z", "13:30", "\"", "'", ",",
                     "\r", "\x00"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**70), 2**70).map(str),
)  # fmt: skip
# A whole file: arbitrary bytes, or arbitrary text encoded as UTF-8.
FILE_BYTES = st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
