"""Multi-timeframe view: every timeframe derived from 1-minute bars, each with its ZigZags.

Time model (all UTC):

* A bar of timeframe F with start S covers [S, F.next(S)). It is **complete at time t** iff
  ``F.next(S) <= t``. This is purely a matter of time: a 1-minute bar that starts at s is complete
  at s + 1 minute, so the 1H bar 10:00 is complete at 11:00 (after the 10:59 minute closed), even
  if minutes are missing at the end of the hour.
* ``as_of(t)`` shows, for each timeframe, the complete bars only, the pivots confirmed by those
  bars, and the real-time candidates computed from them. Nothing else (no in-progress bar).
* Live: ``add_1m(bar)`` receives 1-minute bars; the same ts again replaces the in-progress minute,
  a later ts means the earlier minute is complete (time has reached the later minute's start),
  an older ts (or a minute already complete by ``advance``) is ignored. ``advance(now)`` tells
  the view that time has reached ``now`` (for example at the end of a session), completing the
  bars whose frames ended. ``now`` is the largest of the times given by ``advance`` and the starts
  of the received minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from engine.analysis.bars import aggregate, normalize_bars
from engine.analysis.incremental import TermsZigZag, ThresholdZigZag
from engine.analysis.stats import TrendStats
from engine.analysis.threshold import ThresholdSpec
from engine.analysis.trends import trend_between
from engine.analysis.types import BarLike, Pivot, Trend
from engine.analysis.zigzag import MAX_TERMS
from engine.model.bar import Bar
from engine.model.timeframe import TimeFrame

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_NS = 60_000_000_000
StatsMap = Mapping[tuple[TimeFrame, int], TrendStats]


def to_ns(t: datetime | int) -> int:
    """Nanoseconds since the epoch of an aware (or naive = UTC) datetime, or an int as is."""
    if isinstance(t, int):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def as_timeframe(tf: TimeFrame | str) -> TimeFrame:
    return tf if isinstance(tf, TimeFrame) else TimeFrame.from_code(tf)


class FrameData:
    """Closed bars of one timeframe (append-only) and the ZigZags fed with them."""

    def __init__(self, tf: TimeFrame, terms: int, threshold: ThresholdSpec | None) -> None:
        self.tf = tf
        self.ts: list[datetime] = []
        self.open: list[float] = []
        self.high: list[float] = []
        self.low: list[float] = []
        self.close: list[float] = []
        self.volume: list[int] = []
        self.cumvol: list[float] = [0.0]
        self.zigzag = TermsZigZag(terms)
        self.threshold: ThresholdZigZag | None = None
        if threshold is not None:
            self.threshold = ThresholdZigZag(
                threshold.threshold, threshold.mode, threshold.source, threshold.atr_period
            )
        # live aggregation: the committed minutes of the current frame
        self.partial: list[Any] | None = None  # [start, open, high, low, close, volume]
        self.partial_end = 0

    def push(self, ts: datetime, o: float, h: float, lo: float, c: float, v: int) -> None:
        self.ts.append(ts)
        self.open.append(o)
        self.high.append(h)
        self.low.append(lo)
        self.close.append(c)
        self.volume.append(v)
        self.cumvol.append(self.cumvol[-1] + v)
        self.zigzag.update_values(ts, o, h, lo, c)
        if self.threshold is not None:
            self.threshold.update_values(ts, h, lo, c)

    def commit_minute(self, bar: BarLike) -> None:
        """Merge a complete 1-minute bar into the frame being built (live aggregation)."""
        start = self.tf.floor(bar.ts)
        part = self.partial
        if part is not None and part[0] == start:
            part[2] = max(part[2], bar.high)
            part[3] = min(part[3], bar.low)
            part[4] = bar.close
            part[5] += bar.volume
            return
        if part is not None:
            self.push(*part)
        self.partial = [start, bar.open, bar.high, bar.low, bar.close, bar.volume]
        self.partial_end = to_ns(self.tf.next(start))

    def close_partial(self, now_ns: int) -> None:
        if self.partial is not None and self.partial_end <= now_ns:
            self.push(*self.partial)
            self.partial = None

    def view(self, stats: StatsMap) -> FrameView:
        zz = self.zigzag
        thr = self.threshold
        return FrameView(
            data=self,
            count=len(self.ts),
            conf_counts=tuple(len(c) for c in zz.confirmed),
            candidates=tuple(zz.candidates),
            thr_count=len(thr.confirmed) if thr is not None else 0,
            thr_candidate=thr.candidate if thr is not None else None,
            stats=stats,
        )


@dataclass(frozen=True, slots=True)
class FrameView:
    """One timeframe as of a snapshot's time: immutable even when the view moves on."""

    data: FrameData
    count: int  # complete bars
    conf_counts: tuple[int, ...]
    candidates: tuple[Pivot | None, ...]
    thr_count: int
    thr_candidate: Pivot | None
    stats: StatsMap

    @property
    def timeframe(self) -> TimeFrame:
        return self.data.tf

    def bar(self, n: int = 1) -> Bar | None:
        """The n-th complete bar back (1 = last closed). ``bar(0)`` (in progress) is None here."""
        if n < 1 or n > self.count:
            return None
        d, i = self.data, self.count - n
        return Bar(d.ts[i], d.open[i], d.high[i], d.low[i], d.close[i], d.volume[i])

    def bars(self) -> pl.DataFrame:
        d, k = self.data, self.count
        return pl.DataFrame(
            {
                "ts": pl.Series(d.ts[:k], dtype=pl.Datetime("ns", "UTC")),
                "open": d.open[:k],
                "high": d.high[:k],
                "low": d.low[:k],
                "close": d.close[:k],
                "volume": pl.Series(d.volume[:k], dtype=pl.Int64),
            }
        )

    def confirmed(self, term: int) -> list[Pivot]:
        return self.data.zigzag.confirmed[term - 1][: self.conf_counts[term - 1]]

    def candidate(self, term: int) -> Pivot | None:
        return self.candidates[term - 1]

    def pivots(self, term: int) -> list[Pivot]:
        out = self.confirmed(term)
        cand = self.candidate(term)
        return [*out, cand] if cand is not None else out

    def threshold_pivots(self) -> list[Pivot]:
        thr = self.data.threshold
        if thr is None:
            return []
        out = thr.confirmed[: self.thr_count]
        return [*out, self.thr_candidate] if self.thr_candidate is not None else out

    def trend(self, term: int, n: int = 0) -> Trend | None:
        """Trend ``n`` of ``term`` (0: real-time, 1: newest confirmed, ...) or None."""
        if not 1 <= term <= len(self.conf_counts) or n < 0:
            return None
        conf = self.data.zigzag.confirmed[term - 1]
        k = self.conf_counts[term - 1]
        if n == 0:
            cand = self.candidates[term - 1]
            if cand is None or k == 0:
                return None
            return trend_between(term, 0, conf[k - 1], cand, self.data.cumvol)
        if k - n - 1 < 0:
            return None
        return trend_between(term, n, conf[k - n - 1], conf[k - n], self.data.cumvol)

    def trend_stats(self, term: int) -> TrendStats | None:
        return self.stats.get((self.data.tf, term))


@dataclass(frozen=True, slots=True)
class ViewSnapshot:
    """All timeframes of a view at time ``time``."""

    time: datetime
    frames: Mapping[TimeFrame, FrameView]

    def __getitem__(self, tf: TimeFrame | str) -> FrameView:
        return self.frames[as_timeframe(tf)]

    def frame(self, tf: TimeFrame | str) -> FrameView:
        return self[tf]


class MultiTimeFrameView:
    """Timeframes kept in step from 1-minute bars (batch via ``from_bars``, live via ``add_1m``)."""

    def __init__(
        self,
        timeframes: Iterable[TimeFrame | str],
        terms: int = MAX_TERMS,
        threshold: ThresholdSpec | None = None,
        stats: StatsMap | None = None,
    ) -> None:
        self.timeframes = sorted({as_timeframe(t) for t in timeframes}, key=_tf_order)
        if not self.timeframes:
            raise ValueError("a view needs at least one timeframe")
        self.terms = terms
        self.threshold = threshold
        self.stats: StatsMap = dict(stats or {})
        self._now = -(2**62)
        self._history: dict[TimeFrame, _History] = {}
        self._cur: Bar | None = None  # live in-progress minute
        self._live = False
        self._data_end = -(2**62)
        self._reset()

    def _reset(self) -> None:
        self.frames = {tf: FrameData(tf, self.terms, self.threshold) for tf in self.timeframes}
        self._cursor = dict.fromkeys(self.timeframes, 0)
        self._now = -(2**62)

    # ------------------------------------------------------------------ batch
    @classmethod
    def from_bars(
        cls,
        bars_1m: pl.DataFrame,
        timeframes: Iterable[TimeFrame | str],
        terms: int = MAX_TERMS,
        threshold: ThresholdSpec | None = None,
        stats: StatsMap | None = None,
    ) -> MultiTimeFrameView:
        """A view over historical 1-minute bars; move it with ``as_of`` (then live if wanted)."""
        view = cls(timeframes, terms, threshold, stats)
        bars = normalize_bars(bars_1m)
        for tf in view.timeframes:
            view._history[tf] = _History.of(aggregate(bars, tf))
        view._data_end = (
            int(bars["ts"].cast(pl.Int64).max()) + _MINUTE_NS if bars.height else -(2**62)  # type: ignore[arg-type]
        )
        return view

    def completion_times(self, tf: TimeFrame | str) -> np.ndarray:
        """Completion times (ns) of the historical bars of ``tf`` (the starts of the next frames)."""
        return self._history[as_timeframe(tf)].end

    def as_of(self, t: datetime | int) -> ViewSnapshot:
        """The view at time ``t``: complete bars and confirmed pivots only (see module doc)."""
        t_ns = to_ns(t)
        if t_ns < self._now:
            if self._live:
                raise ValueError("a live view cannot go back in time")
            self._reset()
        self._now = t_ns
        if not self._live:
            for tf, hist in self._history.items():
                pos = self._cursor[tf]
                stop = int(np.searchsorted(hist.end, t_ns, side="right"))
                if stop > pos:
                    frame = self.frames[tf]
                    for i in range(pos, stop):
                        frame.push(
                            hist.ts[i],
                            hist.open[i],
                            hist.high[i],
                            hist.low[i],
                            hist.close[i],
                            hist.volume[i],
                        )
                    self._cursor[tf] = stop
        else:
            self._advance_live(t_ns)
        return self.snapshot()

    def snapshot(self) -> ViewSnapshot:
        """The view at its current time (no bar or pivot beyond it)."""
        frames = {tf: f.view(self.stats) for tf, f in self.frames.items()}
        return ViewSnapshot(from_ns(max(self._now, 0)), frames)

    # ------------------------------------------------------------------ live
    @property
    def now(self) -> datetime:
        return from_ns(max(self._now, 0))

    def _go_live(self) -> None:
        if self._live:
            return
        if self._history:
            self.as_of(max(self._data_end, self._now))
            for tf, hist in self._history.items():
                pos = self._cursor[tf]
                if pos < len(hist.ts):  # the last, incomplete frame becomes the partial bar
                    frame = self.frames[tf]
                    frame.partial = [
                        hist.ts[pos],
                        hist.open[pos],
                        hist.high[pos],
                        hist.low[pos],
                        hist.close[pos],
                        hist.volume[pos],
                    ]
                    frame.partial_end = int(hist.end[pos])
        self._live = True

    def add_1m(self, bar: BarLike) -> bool:
        """Feed a live 1-minute bar; False when it was ignored (older than the current minute)."""
        self._go_live()
        start = TimeFrame.M1.floor(bar.ts)
        s = to_ns(start)
        cur = self._cur
        if cur is not None and start == cur.ts:
            self._cur = _as_bar(bar, start)
            return True
        if (cur is not None and start < cur.ts) or s + _MINUTE_NS <= self._now:
            return False
        self._advance_live(s)
        self._cur = _as_bar(bar, start)
        return True

    def advance(self, now: datetime | int) -> ViewSnapshot:
        """Time has reached ``now``: complete what ended by then; returns the snapshot."""
        self._go_live()
        self._advance_live(to_ns(now))
        return self.snapshot()

    def in_progress(self, tf: TimeFrame | str) -> Bar | None:
        """Live only: the bar being built for ``tf`` including the in-progress minute."""
        frame = self.frames[as_timeframe(tf)]
        bar = None if frame.partial is None else Bar(*frame.partial)
        cur = self._cur
        if cur is None:
            return bar
        minute = _as_bar(cur, frame.tf.floor(cur.ts))
        if bar is not None and bar.ts == minute.ts:
            return bar.merge(minute)
        return minute

    def _advance_live(self, t_ns: int) -> None:
        if t_ns > self._now:
            self._now = t_ns
        cur = self._cur
        if cur is not None and to_ns(cur.ts) + _MINUTE_NS <= self._now:
            self._cur = None
            for frame in self.frames.values():
                frame.commit_minute(cur)
        for frame in self.frames.values():
            frame.close_partial(self._now)


@dataclass(frozen=True, slots=True)
class _History:
    ts: list[datetime]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[int]
    end: np.ndarray

    @staticmethod
    def of(frame: pl.DataFrame) -> _History:
        return _History(
            frame["ts"].to_list(),
            frame["open"].to_list(),
            frame["high"].to_list(),
            frame["low"].to_list(),
            frame["close"].to_list(),
            frame["volume"].to_list(),
            frame["end"].cast(pl.Int64).to_numpy(),
        )


def _as_bar(bar: BarLike, start: datetime) -> Bar:
    return Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume)


def _tf_order(tf: TimeFrame) -> int:
    return TimeFrame.all().index(tf)


def timeframes_of(codes: Sequence[str] | str) -> list[TimeFrame]:
    """Parse ``"1H,10M"`` or a list of codes."""
    items = codes.split(",") if isinstance(codes, str) else list(codes)
    return [TimeFrame.from_code(c) for c in items if c.strip()]
