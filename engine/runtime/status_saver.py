"""The engine's status for readers in other processes: snapshots built on demand, saved often.

:class:`SnapshotCache` builds an :class:`~engine.model.snapshot.EngineSnapshot` only when the
engine's version moved (and builds again when another thread changed a dict mid-build).

:class:`StatusSaver` writes, in a worker thread, the latched trading state first (it matters
most), then the status snapshot and the keeper's state snapshot: whenever something significant
changed (at most every ``min_gap`` seconds on bursts), at least every ``interval`` seconds, and
once more at the end of the run (which also clears the run marker). The keeper's snapshot is
taken on the engine loop and only written in the thread, so that it is one consistent moment.
It is given callables, not the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from engine.model.snapshot import EngineSnapshot, TradingState
from engine.runtime.tasks import TaskRunner
from engine.state.status_store import StatusStore

log = logging.getLogger("avin.engine")


class SnapshotCache:
    def __init__(self, version: Callable[[], int], build: Callable[[int], EngineSnapshot]) -> None:
        self.version = version
        self.build = build
        self.last: EngineSnapshot | None = None

    def get(self) -> EngineSnapshot:
        version = self.version()
        cached = self.last
        if cached is not None and cached.version == version:
            return cached
        for _ in range(3):  # another thread may be mutating a dict mid-build: just retry
            try:
                snap = self.build(version)
            except RuntimeError:
                continue
            self.last = snap
            return snap
        return cached if cached is not None else self.build(version)


class StatusSaver:
    def __init__(
        self,
        store: StatusStore | None,
        tasks: TaskRunner,
        *,
        latch: Callable[[], tuple[TradingState, str]],
        status: Callable[[], dict[str, Any]],
        prepare_state: Callable[[], Any],
        write_state: Callable[[Any], None],
        interval: float,
        min_gap: float,
    ) -> None:
        self.store = store
        self._tasks = tasks
        self._latch = latch
        self._status = status  # the status JSON (``avin status``)
        # the keeper's state snapshot (recovery): taken on the engine loop, written in a thread
        self._prepare_state = prepare_state
        self._write_state = write_state
        self.interval = interval
        self.min_gap = min_gap
        self.persisted: tuple[TradingState, str] | None = None
        self.owned = False  # this run writes the status (after ``begin_run``)
        self.closed = False  # the final save is done: nothing more is written
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None

    def attach(self) -> None:
        """On the engine loop, before anything may wake it."""
        self._wake = asyncio.Event()

    def own(self) -> None:
        """This run writes the status from now on; the latch it found is what is saved."""
        self.owned = True
        self.persisted = self._latch()

    def wake(self) -> None:
        """Save soon (thread-safe)."""
        wake = self._wake
        if wake is not None and not wake.is_set():
            self._tasks.in_loop(wake.set)

    async def run(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.interval)
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # 3.11 wait_for can turn it into a timeout
                raise asyncio.CancelledError
            wake.clear()
            try:
                await asyncio.to_thread(self.save, False, self._prepare_state())
            except Exception as exc:
                log.error("saving the engine status failed: %s", exc)
            await asyncio.sleep(self.min_gap)

    def save(self, final: bool = False, captured: Any = None) -> None:
        """Write the latch and the snapshots (in a worker thread); ``final`` ends the run.
        ``captured``: the keeper's snapshot prepared on the engine loop; without it, it is taken
        here (only while the loop does not run)."""
        store = self.store
        if store is None:
            return
        with self._lock:
            if self.closed:
                return  # a periodic save that lost the race with the final one
            state = self._latch()
            if state != self.persisted:  # the latch first: it matters most
                store.save_trading_state(*state)
                self.persisted = state
            store.save_snapshot(self._status())
            self._write_state(self._prepare_state() if captured is None else captured)
            if final:
                self.closed = True
                store.end_run()

    async def save_final(self) -> None:
        if self.store is None or not self.owned:
            return
        try:
            await asyncio.to_thread(self.save, True, self._prepare_state())
        except Exception as exc:
            log.error("saving the final status failed: %s", exc)
