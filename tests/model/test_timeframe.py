from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import TimeFrame

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@given(moments, st.sampled_from(TimeFrame.all()))
def test_floor_is_idempotent_and_contains(ts: datetime, tf: TimeFrame) -> None:
    start = tf.floor(ts)
    assert start <= ts < tf.next(ts)
    assert tf.floor(start) == start
    assert tf.floor(tf.next(ts)) == tf.next(ts)


@given(moments)
def test_calendar_frames(ts: datetime) -> None:
    assert TimeFrame.W.floor(ts).weekday() == 0
    assert TimeFrame.W.floor(ts).time() == datetime.min.time()
    assert TimeFrame.MONTH.floor(ts).day == 1
    assert TimeFrame.D.floor(ts) == ts.replace(hour=0, minute=0, second=0, microsecond=0)


def test_examples() -> None:
    ts = datetime(2024, 3, 3, 13, 47, 30, tzinfo=UTC)  # a Sunday
    assert TimeFrame.M10.floor(ts) == datetime(2024, 3, 3, 13, 40, tzinfo=UTC)
    assert TimeFrame.H4.floor(ts) == datetime(2024, 3, 3, 12, tzinfo=UTC)
    assert TimeFrame.W.floor(ts) == datetime(2024, 2, 26, tzinfo=UTC)
    assert TimeFrame.MONTH.next(datetime(2024, 12, 5, tzinfo=UTC)) == datetime(
        2025, 1, 1, tzinfo=UTC
    )
    naive = datetime(2024, 3, 3, 13, 47)
    assert TimeFrame.M1.floor(naive) == datetime(2024, 3, 3, 13, 47, tzinfo=UTC)
    assert TimeFrame.M5.step == timedelta(minutes=5) and TimeFrame.MONTH.step is None


def test_codes() -> None:
    assert TimeFrame.from_code("1m") is TimeFrame.M1
    assert TimeFrame.from_code("m") is TimeFrame.MONTH
    assert TimeFrame.from_code("1d") is TimeFrame.D
    with pytest.raises(ValueError, match="use one of 1M, 5M"):
        TimeFrame.from_code("7M")
