"""Multi-timeframe view: aggregation, completion by time, no look-ahead, live == batch."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from analysis_helpers import T0, bars_of, frame, minute_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis import MultiTimeFrameView, aggregate
from engine.model.bar import Bar
from engine.model.timeframe import TimeFrame

TFS = ["1M", "5M", "1H", "D"]


def _state(snap, tfs=TFS, with_bars: bool = True) -> list:
    out = []
    for tf in tfs:
        f = snap[tf]
        bars = f.bars().rows() if with_bars else f.bar(1)
        out.append((tf, f.count, bars, [f.pivots(t) for t in range(1, 6)]))
    return out


def test_aggregation_rules() -> None:
    rows = [(10, 12, 9, 11), (11, 13, 10, 12), (12, 12.5, 8, 9), (9, 10, 8.5, 10)]
    df = frame(rows, step_min=2)  # 07:00, 07:02, 07:04, 07:06
    agg = aggregate(df, TimeFrame.M5)
    assert agg.select("open", "high", "low", "close", "volume").rows() == [
        (10.0, 13.0, 8.0, 9.0, 10 + 11 + 12),  # 07:00, 07:02, 07:04
        (9.0, 10.0, 8.5, 10.0, 13),  # 07:06
    ]
    assert agg["ts"].to_list() == [T0, T0 + timedelta(minutes=5)]
    assert agg["end"].to_list() == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
    week = aggregate(df, TimeFrame.W)["ts"].item()
    assert week.weekday() == 0 and week.hour == 0  # Monday 00:00 UTC


def test_bar_complete_only_when_its_frame_ended() -> None:
    df = frame([(10, 11, 9, 10)] * 3)  # 07:00..07:02
    view = MultiTimeFrameView.from_bars(df, ["1M", "5M"])
    snap = view.as_of(T0 + timedelta(minutes=2))
    assert snap["1M"].count == 2 and snap["5M"].count == 0
    assert snap["5M"].bar(1) is None and snap["1M"].bar(0) is None
    snap = view.as_of(T0 + timedelta(minutes=5))  # no data after 07:02, but the frame has ended
    assert snap["1M"].count == 3 and snap["5M"].count == 1
    # going back in time rebuilds the state
    assert view.as_of(T0 + timedelta(minutes=1))["1M"].count == 1


def test_live_same_ts_replaces_the_minute() -> None:
    view = MultiTimeFrameView(["1M", "5M"])
    view.add_1m(Bar(T0, 10, 20, 5, 15, 100))
    view.add_1m(Bar(T0, 10, 11, 9, 10.5, 3))  # replaces the first update of 07:00
    assert view.in_progress("5M") == Bar(T0, 10, 11, 9, 10.5, 3)
    assert view.snapshot()["1M"].count == 0
    view.add_1m(Bar(T0 + timedelta(minutes=1), 10.5, 12, 10, 11, 4))
    assert view.snapshot()["1M"].bar(1) == Bar(T0, 10, 11, 9, 10.5, 3)
    assert view.in_progress("5M") == Bar(T0, 10, 12, 9, 11, 7)
    assert not view.add_1m(Bar(T0, 1, 1, 1, 1, 1))  # older: ignored
    snap = view.advance(T0 + timedelta(minutes=5))
    assert snap["5M"].bar(1) == Bar(T0, 10, 12, 9, 11, 7)


@settings(max_examples=40, deadline=None)
@given(minute_frames(80))
def test_live_feed_equals_batch_view(df: pl.DataFrame) -> None:
    batch = MultiTimeFrameView.from_bars(df, TFS)
    live = MultiTimeFrameView(TFS)
    for bar in bars_of(df):
        live.add_1m(Bar(bar.ts, bar.open, bar.open, bar.open, bar.open, 1))  # provisional
        live.add_1m(bar)  # final version of the minute
        assert _state(live.snapshot(), with_bars=False) == _state(
            batch.as_of(bar.ts), with_bars=False
        )
    end = df["ts"][-1] + timedelta(days=2)
    assert _state(live.advance(end)) == _state(batch.as_of(end))


@settings(max_examples=60, deadline=None)
@given(minute_frames(80), st.integers(0, 3000))
def test_as_of_has_no_look_ahead(df: pl.DataFrame, minutes: int) -> None:
    t = T0 + timedelta(minutes=minutes)
    full = MultiTimeFrameView.from_bars(df, TFS).as_of(t)
    known = df.filter(pl.col("ts") + pl.duration(minutes=1) <= t)
    if known.height == 0:
        assert all(full[tf].count == 0 for tf in TFS)
        return
    trunc = MultiTimeFrameView.from_bars(known, TFS).as_of(t)
    assert _state(full) == _state(trunc)
    for tf in TFS:
        f = full[tf]
        last_bar = f.bar(1)
        if last_bar is not None:
            assert TimeFrame.from_code(tf).next(last_bar.ts) <= t
        for term in range(1, 6):
            for p in f.confirmed(term):
                assert p.confirmed_ts is not None
                assert TimeFrame.from_code(tf).next(p.confirmed_ts) <= t


def test_trends_from_the_view() -> None:
    rows = [(10, 11, 9, 11), (11, 12, 10, 12), (12, 12, 11, 11.5), (11.5, 11.8, 10.5, 11)]
    view = MultiTimeFrameView.from_bars(frame(rows), ["1M"])
    f = view.as_of(T0 + timedelta(minutes=4))["1M"]
    tr = f.trend(1, 0)  # max 12 at bar 1 -> min candidate 10.5 at bar 3
    assert tr is not None and tr.kind == "bear" and tr.len == 3 and tr.vol == 11 + 12 + 13
    assert abs(tr.abs_p - 1.5 / 12 * 100) < 1e-12
    assert f.trend(1, 1) is None and f.trend(2, 0) is None
