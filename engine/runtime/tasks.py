"""The engine loop's hands: the tasks it owns and the work other threads hand to it.

Components get a :class:`TaskRunner` instead of the engine: ``spawn`` starts a task the engine
waits for at shutdown, ``in_loop`` runs a function on the loop (at once when already on it, else
as soon as it can; nothing while the engine does not run).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from engine.runtime.router import REQUEST

log = logging.getLogger("avin.engine")


class TaskRunner:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: int | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.open = False  # between the engine's start and the end of its shutdown

    def attach(self) -> None:
        """The running loop is the engine's (called first thing in ``Engine.run``)."""
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()

    @property
    def on_loop(self) -> bool:
        return threading.get_ident() == self.thread

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task %s failed", task.get_name(), exc_info=task.exception())

    def in_loop(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the engine loop: now when already on it, else as soon as it can."""
        loop = self.loop
        if loop is None or loop.is_closed() or not self.open:
            return
        if self.on_loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def requests(self) -> list[asyncio.Task[Any]]:
        """Order posts and cancels on their way to the broker (done or not)."""
        return [t for t in list(self.tasks) if t.get_name().startswith(REQUEST)]

    @property
    def pending_requests(self) -> int:
        return sum(1 for t in self.requests() if not t.done())

    async def cancel_all(self) -> None:
        tasks = [t for t in self.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
