"""Short interpreter pauses while the engine trades (undone when the app ends).

Three threads share the interpreter: the UI painting frames, the engine and the terminal's input
thread (where the kill key is acted on). Two things made the last two wait for tens to hundreds
of ms:

- A full garbage collection walks every tracked object (a few hundred thousand with the engine's
  history and the UI built) while no thread runs: 100-300 ms, every few seconds under a fast
  feed. What exists when the engine has started lives as long as the app: it is frozen out of
  those passes, and so is what survived each full pass once the UI has settled (``GC_SETTLE``),
  so that a pass walks only what came since the last one. With painted lines no longer cyclic
  garbage (``_strip_cycles``) there is little for a full pass to free: it runs after
  ``GC_FULL_EVERY`` middle passes instead of 10.
- A thread that wants the interpreter waits up to the switch interval (5 ms) for the one
  running, at every hand-over: ``SWITCH_INTERVAL`` makes that about 1 ms.
"""

from __future__ import annotations

import gc
import sys
import time


class HeapSettler:
    GC_SETTLE = 5.0  # seconds of trading before the heap is frozen again after each full pass
    GC_FULL_EVERY = 100  # middle-generation passes per full one (the interpreter's: 10)
    SWITCH_INTERVAL = 0.001  # seconds a thread may keep the interpreter from a waiting one (5 ms)

    def __init__(self) -> None:
        self.frozen = 0  # times the heap was frozen
        self.mark = (0.0, -1)  # (first freeze, full collections at the last freeze)
        self._thresholds: tuple[int, int, int] | None = None  # the interpreter's, to restore
        self._switch_interval: float | None = None  # the interpreter's, to restore

    def settle(self) -> None:
        """One step, called on each snapshot poll once the engine trades."""
        full = gc.get_stats()[2]["collections"]
        started, frozen_at = self.mark
        if self.frozen == 0:
            gc.freeze()
            self.frozen = 1
            self.mark = (time.monotonic(), -1)
            young, middle, old = self._thresholds = gc.get_threshold()
            gc.set_threshold(young, middle, max(old, self.GC_FULL_EVERY))
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, self.SWITCH_INTERVAL))
        elif frozen_at < 0:
            if time.monotonic() - started >= self.GC_SETTLE:
                self.mark = (started, full)  # freeze after the next full collection
        elif full > frozen_at:  # a full collection ran since the last freeze: little garbage now
            gc.freeze()
            self.frozen += 1
            self.mark = (started, full)

    def restore(self) -> None:
        """The interpreter's own settings again."""
        if self.frozen:
            self.frozen = 0
            gc.unfreeze()
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
