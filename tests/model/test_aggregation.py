from datetime import UTC, datetime, timedelta

from engine.model import Bar, TimeFrame
from engine.model.aggregation import BarAggregator

T0 = datetime(2024, 3, 1, 7, 0, tzinfo=UTC)


def bar(minute: int, o: float, h: float, low: float, c: float, v: int = 1) -> Bar:
    return Bar(T0 + timedelta(minutes=minute), o, h, low, c, v)


def test_merge_replace_and_roll() -> None:
    agg = BarAggregator(TimeFrame.M5)
    agg.update(bar(0, 10, 11, 9, 10.5, 2))
    agg.update(bar(1, 10.5, 12, 10, 11, 3))
    # a provisional update of minute 1 replaces it
    r = agg.update(bar(1, 10.5, 11.5, 10.2, 11.2, 4))
    assert r.current == Bar(T0, 10, 11.5, 9, 11.2, 6)
    # an older bar is ignored
    assert not agg.update(bar(0, 1, 1, 1, 1)).accepted
    r = agg.update(bar(5, 11, 11, 11, 11, 1))
    assert r.closed == Bar(T0, 10, 11.5, 9, 11.2, 6)
    assert r.current is not None and r.current.ts == T0 + timedelta(minutes=5)


def test_replace_first_input_of_frame() -> None:
    agg = BarAggregator(TimeFrame.H1)
    agg.update(bar(0, 10, 10, 10, 10, 1))
    r = agg.update(bar(0, 10, 12, 9, 11, 5))
    assert r.current == Bar(T0, 10, 12, 9, 11, 5)
