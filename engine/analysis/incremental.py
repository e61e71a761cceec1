"""Incremental ZigZags: feed closed bars one at a time, get events.

API contract (live use):

* ``update(bar)`` takes **closed** bars only, in order. Only closed bars drive confirmation, so a
  confirmed pivot never changes afterwards and incremental results equal the batch ones on every
  prefix of the series.
* ``preview(bar)`` gives the real-time candidates as if the in-progress ``bar`` were closed now,
  without changing any state; call it as often as the in-progress bar is updated (same ts again).
* Events: ``PivotConfirmed(pivot, confirmed_ts)`` when a pivot becomes confirmed and
  ``CandidateMoved(term, pivot)`` when a term's real-time candidate changes.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from engine.analysis.threshold import ThresholdSpec
from engine.analysis.types import BarLike, CandidateMoved, Event, Kind, Pivot, PivotConfirmed
from engine.analysis.zigzag import MAX_TERMS

_MAX = Kind.MAX
_MIN = Kind.MIN
_Mark = tuple[float, int, Any]  # (price, bar index, ts)
_NO_MARK: _Mark = (0.0, 0, None)
_Recent = tuple[int, float, float, Any]  # (bar index, high, low, ts)
_new = tuple.__new__  # builds the NamedTuples without their keyword-parsing __new__ (hot path)


class _Level:
    """State of T(n+1) built from confirmed T(n) points."""

    __slots__ = ("cand", "opp")

    def __init__(self) -> None:
        self.cand: Pivot | None = None  # a confirmed point of the lower term
        self.opp: Pivot | None = None


class TermsZigZag:
    """Hierarchical ZigZag T1..T``terms``, one closed bar at a time (see module doc)."""

    def __init__(self, terms: int = MAX_TERMS) -> None:
        if not 1 <= terms <= MAX_TERMS:
            raise ValueError(f"terms must be 1..{MAX_TERMS}, got {terms}")
        self.terms = terms
        self.count = 0  # closed bars seen
        self._kind = 0  # T1 candidate kind: +1 max, -1 min, 0 before the first bar
        self._price = 0.0
        self._idx = 0
        self._ts: Any = None
        self._levels = [_Level() for _ in range(terms)]  # index t serves term t + 1 (t >= 1)
        self.confirmed: list[list[Pivot]] = [[] for _ in range(terms)]
        self.candidates: list[Pivot | None] = [None] * terms

    # ------------------------------------------------------------------ feeding
    def update(self, bar: BarLike) -> list[Event]:
        """Add one closed bar; returns the events it caused."""
        return self.update_values(bar.ts, bar.open, bar.high, bar.low, bar.close)

    def update_values(
        self, ts: Any, open_: float, high: float, low: float, close: float
    ) -> list[Event]:
        i = self.count
        self.count = i + 1
        events: list[Event] = []
        kind = self._kind
        if kind == 1:
            if high > self._price:
                self._price = high
            else:
                self._confirm_t1(_MAX, i, ts, events)
                self._kind = -1
                self._price = low
            self._idx = i
            self._ts = ts
        elif kind == -1:
            if low < self._price:
                self._price = low
            else:
                self._confirm_t1(_MIN, i, ts, events)
                self._kind = 1
                self._price = high
            self._idx = i
            self._ts = ts
        else:
            if open_ < close:
                self._kind = 1
                self._price = high
            else:
                self._kind = -1
                self._price = low
            self._idx = 0
            self._ts = ts
        cand = _new(
            Pivot, (1, i, ts, _MAX if self._kind == 1 else _MIN, self._price, False, None, None)
        )
        self.candidates[0] = cand
        events.append(_new(CandidateMoved, (1, cand)))
        return events

    def _confirm_t1(self, kind: Kind, i: int, ts: Any, events: list[Event]) -> None:
        p = _new(Pivot, (1, self._idx, self._ts, kind, self._price, True, i, ts))
        self.confirmed[0].append(p)
        events.append(_new(PivotConfirmed, (p, ts)))
        if self.terms > 1:
            self._feed(1, p, events)

    def _feed(self, t: int, p: Pivot, events: list[Event]) -> None:
        """Give confirmed point ``p`` of term ``t`` to the level of term ``t + 1``."""
        lv = self._levels[t]
        c = lv.cand
        if c is None:
            self._set_cand(t, lv, p, events)
        elif p.kind is not c.kind:
            lv.opp = p
        elif ((p.price > c.price) if p.kind is _MAX else (p.price < c.price)) or lv.opp is None:
            self._set_cand(t, lv, p, events)
        else:
            conf = Pivot(
                t + 1, c.index, c.ts, c.kind, c.price, True, p.confirmed_index, p.confirmed_ts
            )
            self.confirmed[t].append(conf)
            events.append(PivotConfirmed(conf, p.confirmed_ts))
            opp = lv.opp
            lv.opp = p
            self._set_cand(t, lv, opp, events)
            if t + 1 < self.terms:
                self._feed(t + 1, conf, events)

    def _set_cand(self, t: int, lv: _Level, p: Pivot, events: list[Event]) -> None:
        lv.cand = p
        cand = _new(Pivot, (t + 1, p.index, p.ts, p.kind, p.price, False, None, None))
        self.candidates[t] = cand
        events.append(_new(CandidateMoved, (t + 1, cand)))

    # ------------------------------------------------------------------ reading
    def pivots(self, term: int) -> list[Pivot]:
        """Confirmed pivots of ``term`` followed by its candidate (if any)."""
        out = list(self.confirmed[term - 1])
        cand = self.candidates[term - 1]
        if cand is not None:
            out.append(cand)
        return out

    def preview(self, bar: BarLike) -> list[Pivot | None]:
        """Candidates of every term if the in-progress ``bar`` closed now; no state changes."""
        clone = copy.copy(self)
        clone._levels = [copy.copy(lv) for lv in self._levels]
        clone.confirmed = [[] for _ in range(self.terms)]
        clone.candidates = list(self.candidates)
        clone.update(bar)
        return clone.candidates


class IncrementalATR:
    """Mean of the last ``period`` true ranges, identical to ``kernels.atr_py``."""

    __slots__ = ("_prev_close", "_window")

    def __init__(self, period: int) -> None:
        self._window: deque[float] = deque(maxlen=period)
        self._prev_close: float | None = None

    def update(self, high: float, low: float, close: float) -> float:
        r = high - low
        if self._prev_close is not None:
            a = abs(high - self._prev_close)
            b = abs(low - self._prev_close)
            if a > r:
                r = a
            if b > r:
                r = b
        self._prev_close = close
        self._window.append(r)
        s = 0.0
        for x in self._window:
            s += x
        return s / len(self._window)


class ThresholdZigZag:
    """Threshold ZigZag (see ``engine.analysis.threshold``), one closed bar at a time."""

    def __init__(
        self,
        threshold: float = 0.01,
        mode: str = "relative",
        source: str = "close",
        atr_period: int = 14,
    ) -> None:
        self.spec = ThresholdSpec(threshold, mode, source, atr_period)  # type: ignore[arg-type]
        self._relative = mode == "relative"
        self._hl = source == "hl"
        self._atr = IncrementalATR(atr_period) if mode == "atr" else None
        self.count = 0
        self._state = 0
        self._ext = 0.0
        self._ei = 0
        self._ets: Any = None
        # the first leg's running low and high; the bars after the running extreme (after the older
        # of the two in the first leg), where the next leg starts when this one is confirmed
        self._low: _Mark = _NO_MARK
        self._high: _Mark = _NO_MARK
        self._recent: deque[_Recent] = deque()
        self.confirmed: list[Pivot] = []
        self.candidate: Pivot | None = None

    def update(self, bar: BarLike) -> list[Event]:
        return self.update_values(bar.ts, bar.high, bar.low, bar.close)

    def update_values(self, ts: Any, high: float, low: float, close: float) -> list[Event]:
        j = self.count
        self.count = j + 1
        hi, lo = (high, low) if self._hl else (close, close)
        t = self.spec.threshold
        amount = t
        if self._atr is not None:
            amount = self._atr.update(high, low, close) * t
        events: list[Event] = []
        state = self._state
        if j == 0:
            self._low, self._high = (lo, 0, ts), (hi, 0, ts)
            return events
        if state == 1:
            if hi > self._ext:
                self._move(j, ts, hi, events)
                self._recent.clear()
            else:
                self._recent.append((j, hi, lo, ts))
                move = self._ext - lo
                if move > 0 and move >= (t * self._ext if self._relative else amount):
                    self._confirm(_MAX, j, ts, events)
                    self._state = -1
                    self._start_leg(self._ei, events)
        elif state == -1:
            if lo < self._ext:
                self._move(j, ts, lo, events)
                self._recent.clear()
            else:
                self._recent.append((j, hi, lo, ts))
                move = hi - self._ext
                if move > 0 and move >= (t * self._ext if self._relative else amount):
                    self._confirm(_MIN, j, ts, events)
                    self._state = 1
                    self._start_leg(self._ei, events)
        else:
            self._first_leg(j, ts, hi, lo, amount, events)
        return events

    def _first_leg(
        self, j: int, ts: Any, hi: float, lo: float, amount: float, events: list[Event]
    ) -> None:
        """Before the first pivot: the running low and high wait for a retracement (kernel rule)."""
        t = self.spec.threshold
        mn, mni, _ = self._low
        mx, mxi, _ = self._high
        rise, fall = hi - mn, mx - lo
        up = lo >= mn and rise > 0 and rise >= (t * mn if self._relative else amount)
        down = hi <= mx and fall > 0 and fall >= (t * mx if self._relative else amount)
        if up and down:
            up = mni <= mxi
            down = not up
        self._recent.append((j, hi, lo, ts))
        if up:
            self._first(_MIN, self._low, j, ts, events)
            self._state = 1
            self._start_leg(mni, events)
        elif down:
            self._first(_MAX, self._high, j, ts, events)
            self._state = -1
            self._start_leg(mxi, events)
        else:
            if lo < mn:
                self._low = (lo, j, ts)
            if hi > mx:
                self._high = (hi, j, ts)
            oldest = min(self._low[1], self._high[1])
            while self._recent and self._recent[0][0] <= oldest:
                self._recent.popleft()

    def _start_leg(self, after: int, events: list[Event]) -> None:
        """The new running extreme: the first most extreme bar after bar ``after`` (kernel rule)."""
        best: _Recent | None = None
        for bar in self._recent:
            if bar[0] <= after:
                continue
            if best is None or (bar[1] > best[1] if self._state == 1 else bar[2] < best[2]):
                best = bar
        assert best is not None  # the confirming bar itself is always there
        index, high, low, bts = best
        self._move(index, bts, high if self._state == 1 else low, events)
        while self._recent and self._recent[0][0] <= index:
            self._recent.popleft()

    def _first(self, kind: Kind, at: _Mark, j: int, ts: Any, events: list[Event]) -> None:
        price, index, pts = at
        p = Pivot(0, index, pts, kind, price, True, j, ts)
        self.confirmed.append(p)
        events.append(PivotConfirmed(p, ts))

    def _confirm(self, kind: Kind, j: int, ts: Any, events: list[Event]) -> None:
        p = Pivot(0, self._ei, self._ets, kind, self._ext, True, j, ts)
        self.confirmed.append(p)
        events.append(PivotConfirmed(p, ts))

    def _move(self, j: int, ts: Any, price: float, events: list[Event]) -> None:
        self._ext, self._ei, self._ets = price, j, ts
        cand = Pivot(0, j, ts, _MAX if self._state == 1 else _MIN, price, False, None, None)
        self.candidate = cand
        events.append(CandidateMoved(0, cand))

    def pivots(self) -> list[Pivot]:
        out = list(self.confirmed)
        if self.candidate is not None:
            out.append(self.candidate)
        return out

    def preview(self, bar: BarLike) -> Pivot | None:
        """The tentative pivot if the in-progress ``bar`` closed now; no state changes."""
        clone = copy.copy(self)
        clone._atr = copy.deepcopy(self._atr)
        clone._recent = self._recent.copy()
        clone.confirmed = []
        clone.update(bar)
        return clone.candidate
