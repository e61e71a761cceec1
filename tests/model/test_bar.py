"""Bar: an immutable value (its constructor writes the slots directly, for speed)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from engine.model import Bar

TS = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def test_bar_is_built_by_position_or_keyword_and_compares_by_value() -> None:
    a = Bar(TS, 100.0, 101.5, 99.5, 101.0, 12)
    b = Bar(ts=TS, open=100.0, high=101.5, low=99.5, close=101.0, volume=12)
    assert a == b and hash(a) == hash(b)
    assert (a.ts, a.open, a.high, a.low, a.close, a.volume) == (TS, 100.0, 101.5, 99.5, 101.0, 12)
    assert a != dataclasses.replace(a, close=100.5)
    assert repr(a).startswith("Bar(ts=datetime.datetime(2026, 12, 3, 7, 0")


def test_bar_is_frozen_and_survives_copy_and_pickle() -> None:
    bar = Bar(TS, 1.0, 2.0, 0.5, 1.5, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bar.close = 9.0  # type: ignore[misc]
    assert copy.copy(bar) == bar and copy.deepcopy(bar) == bar
    assert pickle.loads(pickle.dumps(bar)) == bar
    with pytest.raises(TypeError):
        Bar(TS, 1.0, 2.0, 0.5, 1.5)  # type: ignore[call-arg]
