"""Hypothesis strategies shared by the tests of untrusted input."""

from typing import Any

from hypothesis import strategies as st

__all__ = ["json_values"]

# Any JSON value, nested a little: what an attacker or a broken platform can put in a webhook body.
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
