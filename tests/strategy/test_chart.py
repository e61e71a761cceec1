from datetime import UTC, datetime, timedelta

from engine.model import Bar, TimeFrame
from engine.strategy.chart import Chart, InstrumentCharts

T0 = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def m(i: int, close: float) -> Bar:
    return Bar(T0 + timedelta(minutes=i), close, close + 1, close - 1, close, 1)


def test_a_five_minute_bar_closes_with_its_fifth_minute() -> None:
    chart = Chart("X", TimeFrame.M5)
    closed = [chart.update(m(i, 100 + i), True) for i in range(5)]
    assert closed[:4] == [[], [], [], []]
    (bar,) = closed[4]
    assert (bar.ts, bar.open, bar.close, bar.high, bar.low, bar.volume) == (
        T0,
        100,
        104,
        105,
        99,
        5,
    )
    assert chart.now is None and chart.last == bar
    assert chart.update(m(5, 200), False) == []  # the next frame starts; no double close
    assert chart.bar(1) == bar and chart.bar(0) is not None and len(chart) == 1


def test_a_gap_closes_the_frame_when_the_next_one_starts() -> None:
    chart = Chart("X", TimeFrame.M5)
    chart.update(m(0, 1), True)
    chart.update(m(1, 2), True)
    (bar,) = chart.update(m(7, 3), True)  # minutes 2-4 missing
    assert bar.ts == T0 and bar.close == 2
    assert chart.update(m(3, 9), True) == []  # older input is ignored


def test_provisional_updates_replace_the_minute_and_the_depth_is_bounded() -> None:
    chart = Chart("X", TimeFrame.M1, depth=3)
    chart.update(m(0, 10), False)
    chart.update(m(0, 11), False)
    (bar,) = chart.update(m(0, 12), True)
    assert bar.close == 12 and bar.volume == 1
    for i in range(1, 6):
        chart.update(m(i, i), True)
    assert len(chart) == 3 and chart.closes() == [3, 4, 5]


def test_instrument_charts_report_each_timeframe_close_and_build_new_ones_from_history() -> None:
    charts = InstrumentCharts("X")
    charts.get(TimeFrame.M5)
    events = [charts.update(m(i, i), True) for i in range(10)]
    assert [tf for tf, _ in events[4]] == [TimeFrame.M1, TimeFrame.M5]
    assert [tf for tf, _ in events[3]] == [TimeFrame.M1]
    ten = charts.get(TimeFrame.M10)
    assert len(ten) == 1 and ten.last is not None and ten.last.close == 9
