"""The engine inside the app: ``engine.run()`` on its own event loop in a daemon thread.

A busy engine then never holds up a key press on the UI loop (the commands are thread-safe), and
a hung engine cannot keep the process alive after the UI exits. The control API
(``engine.control``: ``avin status/kill/resume`` from another shell) is served while it runs. The thread is awaited by a
Textual worker (``exit_on_error=False``): an engine crash is shown in the banner, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.worker import Worker, WorkerState

from avin_tui.widgets.banner import Banner
from engine.control.server import engine_status, serve_control
from engine.model import Bar, TimeFrame
from engine.model.snapshot import EngineSnapshot

if TYPE_CHECKING:
    from engine.control.service import Controllable

JOIN_TIMEOUT = 5.0  # seconds the app waits for the engine thread when it ends


class RunnableEngine(Protocol):
    """What the app needs: the EngineControl commands plus ``run``/``request_stop``."""

    def snapshot(self) -> EngineSnapshot: ...
    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]: ...
    def pause_strategy(self, strategy_id: str) -> None: ...
    def resume_strategy(self, strategy_id: str) -> None: ...
    def cancel_order(self, order_key: str) -> None: ...
    def kill(self, reason: str = "manual") -> None: ...
    async def run(self, duration: float | None = None) -> Any: ...
    def request_stop(self) -> None: ...


class EngineHost:
    """Starts the engine, says how it ended (``note``, ``error``), stops it with the app."""

    def __init__(self, app: Any, engine: RunnableEngine) -> None:
        self.app = app
        self.engine = engine
        self.worker: Worker[Any] | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.note = ""  # shown in the status bar: "ENGINE CRASHED", "stopping", ...

    def start(self) -> None:
        self.worker = self.app.run_worker(
            self._run(), name="engine", group="engine", exit_on_error=False
        )

    async def _run(self) -> None:
        """Run the engine in its thread and wait for it to end (its error raised here)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        def target() -> None:
            error: BaseException | None = None
            try:
                # the real Engine has every control method; a test's engine serves what it has
                control = cast("Controllable", self.engine)
                with serve_control(control, status=engine_status(self.engine)):
                    asyncio.run(self.engine.run())
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the UI loop is already closed
                loop.call_soon_threadsafe(settle, error)

        self.thread = threading.Thread(target=target, name="avin-engine", daemon=True)
        self.thread.start()
        await done

    def worker_changed(self, event: Worker.StateChanged, quitting: bool) -> None:
        """The engine crashed (banner and notification) or stopped by itself (banner)."""
        if event.worker is not self.worker:
            return
        banner = self.app.query_one(Banner)
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.error = error
            self.note = "ENGINE CRASHED"
            text = f"ENGINE CRASHED: {type(error).__name__}: {error} — see the log; restart avin"
            banner.show_message(text)
            self.app.notify(str(error), title="engine crashed", severity="error", timeout=30)
        elif event.state is WorkerState.SUCCESS and not quitting:
            self.note = "engine stopped"
            banner.show_message("The engine has stopped (q quits).", info=True)

    async def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the engine's worker (a timeout or a failure: return)."""
        worker = self.worker
        if worker is not None and not worker.is_finished:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.wait(), max(0.1, timeout))

    async def shut_down(self) -> None:
        """However the app ends, the engine is asked to stop and given a moment to shut down."""
        with contextlib.suppress(Exception):
            self.engine.request_stop()
        thread = self.thread
        if thread is not None and thread.is_alive():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(thread.join, JOIN_TIMEOUT)
