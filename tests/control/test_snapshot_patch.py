"""Snapshot diffs: ``apply(old, diff(old, new)) == new`` for any two status objects, and a
patch of a small change is small."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.control.patch import apply, diff

ids = st.sampled_from(["a", "b", "c", "d", "e", "f"])
values = st.one_of(st.integers(-3, 3), st.text("xy", max_size=2), st.none())


def _table(fields: tuple[str, ...]) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries(
        {f: ids for f in fields}, optional={"lots": values, "status": values}
    )
    return st.lists(row, max_size=6)


status = st.fixed_dictionaries(
    {},
    optional={
        "version": st.integers(0, 5),
        "trading_state": st.sampled_from(["ACTIVE", "HALTED"]),
        "orders": _table(("key",)),
        "open_orders": st.one_of(_table(("key",)), st.none()),
        "strategies": _table(("id",)),
        "positions": _table(("account", "instrument")),
        "counters": st.dictionaries(st.sampled_from(["events", "fills"]), st.integers(0, 9)),
    },
)


@settings(max_examples=400, deadline=None)
@given(status, status)
def test_the_patch_rebuilds_the_new_object(old: dict[str, Any], new: dict[str, Any]) -> None:
    patch = json.loads(json.dumps(diff(old, new)))  # as it travels
    assert apply(old, patch) == new
    assert diff(new, new) == {}


def test_a_small_change_is_a_small_patch() -> None:
    orders = [{"key": f"{i:032d}", "status": "filled", "lots": 1} for i in range(200)]
    old = {"version": 1, "orders": orders, "trading_state": "ACTIVE"}
    changed = [*orders[:-1], {**orders[-1], "status": "cancelled"}]
    new = {"version": 2, "orders": [*changed, {"key": "n" * 32, "status": "new", "lots": 2}]}
    new["trading_state"] = "ACTIVE"
    patch = diff(old, new)
    assert patch == {
        "set": {"version": 2},
        "rows": {"orders": {"put": [changed[-1], new["orders"][-1]]}},
    }
    assert len(json.dumps(patch)) * 20 < len(json.dumps(new))
    moved = {**new, "orders": new["orders"][::-1]}  # another order: every id, in order
    assert diff(new, moved)["rows"]["orders"] == {"ids": [o["key"] for o in moved["orders"]]}


def test_a_patch_that_does_not_fit_its_base_is_refused() -> None:
    base = {"orders": [{"key": "a"}]}
    with pytest.raises(ValueError, match="the base has not"):
        apply(base, {"rows": {"orders": {"ids": ["a", "z"]}}})
    with pytest.raises(ValueError, match="the base has not"):
        apply({}, {"rows": {"strategies": {"put": [{"id": "s"}]}}})
