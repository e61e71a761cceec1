"""The workspace record on both state engines: written, read back after a reopen, and a bad
value reported in words without counting as damage of the trading state."""

from __future__ import annotations

import json
from collections.abc import Callable

from engine.state.base import BaseStore
from engine.state.workspace import KIND, read_workspace, save_workspace


def test_the_record_survives_a_reopen_and_bad_values_are_explained(
    store_factory: Callable[[], BaseStore],
) -> None:
    store = store_factory()
    assert read_workspace(store, (2,)).data is None and read_workspace(store).problem is None
    save_workspace(store, {"focused": "chart", "rows": [2, 1, 1]}, 2)
    store.close()
    store = store_factory()
    loaded = read_workspace(store, (2,))
    assert loaded.data == {"focused": "chart", "rows": [2, 1, 1]}
    assert loaded.version == 2 and loaded.saved_ts and loaded.problem is None
    assert "version 2" in (read_workspace(store, (3,)).problem or "")  # a newer avin's
    store.put("workspace", {"panes": ["chart"]})  # not an avin workspace record
    assert "foreign" in (read_workspace(store, (2,)).problem or "")
    store.put("workspace", {"kind": KIND, "version": 2, "data": [1]})
    assert "damaged" in (read_workspace(store, (2,)).problem or "")
    assert json.loads(store.get_text("workspace") or "")["kind"] == KIND
    assert not store.damage
