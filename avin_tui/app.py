"""The avin terminal app.

``AvinApp(engine, settings)`` runs ``engine.run()`` in a worker (a crash is shown, never fatal),
pulls ``engine.snapshot()`` on a timer and applies it to the panes inside ``batch_update`` only when
its version moved (the panes diff rows; the chart rebuilds at most twice a second for new bars
alone). The app is the only place that sends commands to the engine. The kill key is acted on the
moment it is seen, before any queued UI work: on the terminal driver's input thread, else as the
App receives it (``post_message``); it only signals the engine (HALTED and the cancels handed to
the engine's loop), and its App-level priority binding then shows the banner.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textual import events, on
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from avin_tui import _strip_cycles as strip_cycles
from avin_tui.layout import TABLES, TableState, UiState, Workspace
from avin_tui.messages import InstrumentSelected, OrderCancelRequested, StrategyToggleRequested
from avin_tui.notices import DETAILS_KEY, EventNotices, recovery_report, restored_orders
from avin_tui.pane_sizes import PaneSizes
from avin_tui.risk_actions import RiskActionsMixin
from avin_tui.screens.confirm_quit import ConfirmQuitScreen, QuitChoice
from avin_tui.screens.help import HelpScreen
from avin_tui.screens.live_confirm import LiveConfirmScreen
from avin_tui.screens.main import PANES, MainScreen
from avin_tui.stop_guard import StopGuard, silence_terminal, watch_terminal
from avin_tui.widgets._format import ticker
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.chart_view import ChartView
from avin_tui.widgets.diff_table import DiffTable
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.status_bar import StatusBar
from avin_tui.widgets.strategies import StrategiesTable
from engine.model import Bar, Mode, TimeFrame
from engine.model.snapshot import EngineSnapshot, TradingState

PACKAGE_DIR = Path(__file__).resolve().parent
log = logging.getLogger("avin.tui")
FIRST_FRAME_ENV = (
    "AVIN_FIRST_FRAME_FILE"  # bench/startup.py: write the time of the first frame, exit
)
LOG_BATCH = 2_000  # at most this many log entries per poll (the rest follow on the next ones)
REJECTION_TOASTS = 3  # at most this many "order rejected" notifications per snapshot
REJECTION_TIMEOUT = 30.0  # seconds a rejection stays on screen (it has a tracking id to copy)


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


def theme_path(name: str) -> Path:
    """The stylesheet of a theme: ``themes/`` of a source checkout, else the packaged copy."""
    name = name if name in ("dark", "light") else "dark"
    checkout = PACKAGE_DIR.parent
    candidates = [PACKAGE_DIR / "themes" / f"{name}.tcss"]
    if (checkout / "pyproject.toml").is_file():
        candidates.insert(0, checkout / "themes" / f"{name}.tcss")
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"theme {name!r} not found in {', '.join(map(str, candidates))}")


PANE_KEYS = Binding.Group("Panes", compact=True)  # s o p l c: one footer entry
RESTORED_SCREENS = {"backtests": "backtests", "log": "log_viewer"}  # saved screen -> app action
OPEN_SCREENS = {"BacktestsScreen": "backtests", "LogViewerScreen": "log"}  # screen class -> name
KILL_KEYS = frozenset({"ctrl+k", "K"})
FAST_KILL_MARK = "_avin_fast_kill"  # set on a Key event once the kill switch acted on it
FAST_KILL_WINDOW = 2.0  # seconds within which the key's binding skips the (already made) kill


def _typing_text(app: Any) -> bool:
    """Whether the focused widget takes text (then ``K`` is a letter; ``ctrl+k`` still kills)."""
    from textual.widgets import Input

    return isinstance(getattr(app, "focused", None), Input)


def with_kill_fast_path(base: type[Driver]) -> type[Driver]:
    """The terminal driver, plus a kill switch that fires on the driver's input thread.

    The key is acted on the moment it is parsed, before it joins the UI's message queue, so a
    long frame or a flood of messages cannot delay a kill (the engine's ``kill`` is thread-safe
    and only signals). The key then goes on as usual (marked as acted on) and its binding shows
    the banner.
    """

    class KillSwitchDriver(base):  # type: ignore[valid-type,misc]
        def process_message(self, message: Message) -> None:
            if isinstance(message, events.Key) and message.key in KILL_KEYS:
                fast_kill = getattr(self._app, "fast_kill", None)
                if fast_kill is not None:
                    with contextlib.suppress(Exception):
                        fast_kill(message)
            super().process_message(message)

    KillSwitchDriver.__name__ = f"KillSwitch{base.__name__}"
    return KillSwitchDriver


def _ui_setting(settings: Any, name: str, default: Any) -> Any:
    return getattr(getattr(settings, "ui", None), name, default)


class AvinApp(RiskActionsMixin, App[int]):
    TITLE = "avin"
    ENABLE_COMMAND_PALETTE = False
    # the interpreter while the engine trades (see _settle_heap)
    GC_SETTLE = 5.0  # seconds of trading before the heap is frozen again after each full pass
    GC_FULL_EVERY = 100  # middle-generation passes per full one (the interpreter's: 10)
    SWITCH_INTERVAL = 0.001  # seconds a thread may keep the interpreter from a waiting one (5 ms)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+k", "kill", "KILL", priority=True),
        Binding("K", "kill_key", "Kill", priority=True, show=False),
        Binding("F", "flatten", "Flatten", priority=True),
        Binding("R", "resume_trading", "Resume", priority=True),  # shown while not ACTIVE
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("f1", "help", "Help", show=False),
        *(
            Binding(key, f"focus_pane('{pane}')", pane.title(), group=PANE_KEYS)
            for key, pane in (
                ("s", "strategies"),
                ("o", "orders"),
                ("p", "positions"),
                ("l", "log"),
                ("c", "chart"),
            )
        ),
        # the chart's keys work everywhere; the footer shows them with the chart (ChartPane)
        Binding("left_square_bracket", "timeframe(-1)", "TF-", key_display="[", show=False),
        Binding("right_square_bracket", "timeframe(1)", "TF+", key_display="]", show=False),
        Binding("n", "next_instrument", "Next", show=False),
        Binding("b", "backtests", "Backtests"),
        Binding("L", "log_viewer", "Log viewer", show=False),
        Binding(DETAILS_KEY, "recovery_details", "Recovery", show=False),
        *(Binding(str(t), f"toggle_term({t})", f"T{t}", show=False) for t in range(1, 6)),
        Binding("greater_than_sign", "resize_pane(1)", "Grow", key_display=">", show=False),
        Binding("less_than_sign", "resize_pane(-1)", "Shrink", key_display="<", show=False),
        Binding("z", "maximize_pane", "Max", show=False),
        Binding("Z", "reset_panes", "Sizes", show=False),
        Binding("T", "toggle_theme", "Theme", show=False),
        Binding("t", "toggle_depth", "Depth", show=False),
    ]

    def __init__(
        self,
        engine: RunnableEngine,
        settings: Any = None,
        *,
        poll_interval: float | None = None,
        run_engine: bool = True,
        persist_layout: bool = True,
        layout_debounce: float = 1.0,
    ) -> None:
        self.theme_name: str = _ui_setting(settings, "theme", "dark")
        super().__init__(css_path=[theme_path(self.theme_name)])
        strip_cycles.install()  # painted lines freed when repainted, not by full collections
        self.engine = engine
        self.settings = settings
        hz = float(_ui_setting(settings, "refresh_hz", 4.0) or 4.0)
        self.poll_interval = poll_interval if poll_interval is not None else 1.0 / hz
        self.run_engine = run_engine
        self.snapshot: EngineSnapshot | None = None
        self.applied_version: int | None = None
        self.applied_count = 0  # snapshots applied to the panes (tests, benchmarks)
        self.engine_note = ""
        self.engine_error: BaseException | None = None
        self.engine_worker: Worker[Any] | None = None
        self._engine_thread: threading.Thread | None = None
        self.kill_reason = "manual: keyboard"
        self._ticks = 0
        self._quitting = False
        self._panes_ready = False
        self.persist_layout = persist_layout
        self.layout_debounce = layout_debounce
        self._layout_timer: Timer | None = None
        self.workspace = Workspace.of(engine)  # the workspace record in the engine's store
        self.pane_sizes = PaneSizes()
        self._focused_pane = "strategies"
        self._footer_state: TradingState | None = None
        self.fast_kills = 0  # kill keys acted on before the queue, not yet seen by the binding
        self._fast_kill_at = 0.0
        self._heap_frozen = 0  # times the heap was frozen (see _settle_heap)
        self._gc_mark = (0.0, -1)  # (first freeze, full collections at the last freeze)
        self._gc_thresholds: tuple[int, int, int] | None = None  # the interpreter's, to restore
        self._switch_interval: float | None = None  # the interpreter's, to restore
        self._first_frame_file = os.environ.get(FIRST_FRAME_ENV)
        self.notices = EventNotices()  # which rejections are new; the one recovery notice
        self.stop_guard: StopGuard | None = None  # SIGTERM/SIGHUP/terminal lost (terminal only)
        self._tty_fd: int | None = None  # the terminal watched for going away

    # --- lifecycle ----------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        return with_kill_fast_path(watch_terminal(super().get_driver_class()))

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        try:
            return super().run(*args, **kwargs)
        finally:  # the app has ended: the stop watchdog has nothing left to guard
            guard = self.stop_guard
            if guard is not None:
                guard.finished()
                guard.uninstall()

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    def on_mount(self) -> None:
        self.theme = "textual-light" if self.theme_name == "light" else "textual-dark"
        if self.run_engine:
            if self._trades_real_money():
                self.push_screen(LiveConfirmScreen(), self._live_answer)
            else:
                self._start_engine()
        self.set_interval(self.poll_interval, self.poll, name="snapshot-poll")
        self.call_after_refresh(self._setup_panes)
        if not self.is_headless:
            self._install_signal_handlers()

    def _trades_real_money(self) -> bool:
        try:
            return self.engine.snapshot().mode is Mode.LIVE
        except Exception:  # a snapshot that fails is not a reason to skip the question
            return True

    def _live_answer(self, confirmed: bool | None) -> None:
        if confirmed:
            self._start_engine()
        else:
            self.exit(0, message="avin: not confirmed; nothing was traded")

    def _start_engine(self) -> None:
        self.engine_worker = self.run_worker(
            self._run_engine(), name="engine", group="engine", exit_on_error=False
        )

    def _setup_panes(self) -> None:
        main = self.get_screen_main()
        if main is None:
            return
        main.query_one(ChartPane).source = self.engine
        main.query_one(StrategiesTable).focus()
        if self.persist_layout:
            self._restore_layout(main)
        self._panes_ready = True
        self.poll()
        if self._first_frame_file:  # the first frame with the panes filled from a snapshot
            self.call_after_refresh(self._first_frame)

    # --- layout persistence -------------------------------------------------------------------

    def _restore_layout(self, main: MainScreen) -> None:
        """Apply the saved workspace; a bad record: the defaults, one notice, and the defaults
        saved over it (so the notice is not repeated at every start)."""
        state, problem = self.workspace.load()
        if problem:
            self.notify(problem, title="workspace", severity="warning", timeout=10)
        if state.theme is not None and state.theme != self.theme_name:
            self.set_theme(state.theme, save=False)
        chart = main.query_one(ChartPane)
        chart.instrument = state.instrument
        chart.timeframe = TimeFrame.from_code(state.timeframe)
        chart.terms = set(state.terms)
        chart.view = ChartView(state.scroll, state.zoom)
        for name, pane_state in state.panes.items():
            restore_pane = getattr(main.query_one(f"#{name}"), "restore_state", None)
            if callable(restore_pane) and name != "log":
                restore_pane(dict(pane_state))
        for name, table_state in state.tables.items():
            table = main.query_one(f"#{name}", DiffTable)
            table.set_sort(table_state.sort, table_state.descending)
            table.restore_cursor(table_state.cursor)
        log = main.query_one(LogPane)
        restore = getattr(log, "restore_state", None)
        if callable(restore):
            restore(dict(state.log))
        else:
            log.set_min_level(state.log_level)
        self.pane_sizes = PaneSizes(list(state.columns), list(state.rows))
        self.pane_sizes.apply(main)
        self._focused_pane = state.focused
        main.query_one(f"#{state.focused}").focus()
        if state.maximized is not None:
            main.maximize(main.query_one(f"#{state.maximized}"), container=False)
        action = RESTORED_SCREENS.get(state.screen)
        if action is not None:
            self.call_after_refresh(self.run_action, action)
        if problem:
            self.save_layout()

    def current_layout(self) -> UiState:
        main = self.get_screen_main()
        if main is None:
            raise NoMatches("no main screen")
        chart = main.query_one(ChartPane)
        log = main.query_one(LogPane)
        get_state = getattr(log, "get_state", None)
        log_state = dict(get_state()) if callable(get_state) else {"level": log.min_level}
        maximized = main.maximized
        tables = {
            name: TableState(table.cursor_to_save, table.sort_column, table.sort_descending)
            for name in TABLES
            for table in [main.query_one(f"#{name}", DiffTable)]
        }
        panes = {
            name: dict(get())
            for name in ("chart",)
            if callable(get := getattr(main.query_one(f"#{name}"), "get_state", None))
        }
        return UiState(
            screen=self._open_screen_name(),
            focused=self._focused_pane,
            maximized=maximized.id if maximized is not None and maximized.id in PANES else None,
            theme=self.theme_name,
            columns=list(self.pane_sizes.columns),
            rows=list(self.pane_sizes.rows),
            instrument=chart.instrument,
            timeframe=chart.timeframe.code,
            terms=sorted(chart.terms),
            zoom=chart.view.per_column,
            scroll=chart.view.offset,
            tables=tables,
            log=log_state,
            panes=panes,
        )

    def _open_screen_name(self) -> str:
        for screen in reversed(self.screen_stack):
            name = OPEN_SCREENS.get(type(screen).__name__)
            if name is not None:
                return name
        return "main"

    def layout_changed(self) -> None:
        """Save the workspace about a second after the last change (debounced)."""
        if not self.persist_layout or not self._panes_ready:
            return
        if self._layout_timer is not None:
            self._layout_timer.stop()
        self._layout_timer = self.set_timer(self.layout_debounce, self.save_layout)

    def save_layout(self) -> None:
        """Write the workspace now (the debounce timer, quit, and after a bad record)."""
        if self._layout_timer is not None:
            self._layout_timer.stop()
            self._layout_timer = None
        try:
            self.workspace.save(self.current_layout())
        except Exception as exc:  # a full disk or a torn-down screen must not break the UI
            self.log.warning(f"could not save the workspace: {exc}")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget = event.widget
        if widget.id in PANES and widget.screen is self.get_screen_main():
            self._focused_pane = widget.id
        if self._panes_ready:
            self.layout_changed()

    def _first_frame(self) -> None:
        assert self._first_frame_file is not None
        Path(self._first_frame_file).write_text(f"{time.time():.6f}\n")
        self.engine.request_stop()
        self.exit(0)

    def _install_signal_handlers(self) -> None:
        """SIGTERM, SIGHUP and a terminal that went away stop the engine cleanly, whatever screen
        is open, within a deadline (avin_tui/stop_guard.py)."""
        self.stop_guard = StopGuard(asyncio.get_running_loop(), self._stop_from_outside)
        self.stop_guard.install()
        with contextlib.suppress(AttributeError, ValueError, OSError):
            if sys.__stdin__ is not None and sys.__stdin__.isatty():
                self._tty_fd = sys.__stdin__.fileno()
                self.set_interval(1.0, self._check_terminal, name="terminal-check")

    def _check_terminal(self) -> None:
        """The terminal closed (reads only give EOF, no hang-up came): stop like a hang-up."""
        if self._tty_fd is not None and not os.isatty(self._tty_fd):
            self._tty_fd = None
            self.terminal_gone()

    def terminal_gone(self) -> None:
        """The terminal went away (any thread): no more output to it, then a clean stop."""
        silence_terminal()
        guard = self.stop_guard
        if guard is not None:
            guard.terminal_gone()

    def _stop_from_outside(self, why: str, signum: int, again: bool) -> None:
        """On the UI loop: a signal or a lost terminal. The first: the clean stop of ``q`` then
        ``y`` (orders and positions kept); after a second one the guard's watchdog ends the
        process within a second unless the stop finishes first."""
        if again:
            hurry = self.stop_guard.hurry if self.stop_guard is not None else 0.0
            log.warning("%s again while stopping: exiting within %g s", why, hurry)
            return
        log.warning("%s: stopping the engine and exiting", why)
        self.call_later(self.stop_and_exit)

    async def _run_engine(self) -> None:
        """Run the engine on its own event loop in a daemon thread and wait for it to end.

        A busy engine then never holds up a key press on the UI loop (the commands are
        thread-safe), and a hung engine cannot keep the process alive after the UI exits.
        """
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
                asyncio.run(self.engine.run())
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the UI loop is already closed
                loop.call_soon_threadsafe(settle, error)

        self._engine_thread = threading.Thread(target=target, name="avin-engine", daemon=True)
        self._engine_thread.start()
        await done

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.engine_worker:
            return
        banner = self.query_one(Banner)
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.engine_error = error
            self.engine_note = "ENGINE CRASHED"
            text = f"ENGINE CRASHED: {type(error).__name__}: {error} — see the log; restart avin"
            banner.show_message(text)
            self.notify(str(error), title="engine crashed", severity="error", timeout=30)
        elif event.state is WorkerState.SUCCESS and not self._quitting:
            self.engine_note = "engine stopped"
            banner.show_message("The engine has stopped (q quits).", info=True)

    async def on_unmount(self) -> None:
        """However the app ends, the engine is asked to stop and given a moment to shut down."""
        if self._layout_timer is not None:  # a change not saved yet
            self.save_layout()
        self._restore_gc()
        with contextlib.suppress(Exception):
            self.engine.request_stop()
        thread = self._engine_thread
        if thread is not None and thread.is_alive():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(thread.join, 5.0)

    # --- the snapshot pull --------------------------------------------------------------------

    def poll(self) -> None:
        """One turn of the timer: status always, panes when the snapshot version moved."""
        self._ticks += 1
        snap: EngineSnapshot | None
        try:
            snap = self.engine.snapshot()
        except Exception as exc:
            self.engine_note = f"snapshot failed: {exc}"
            snap = self.snapshot
        main = self.get_screen_main()
        if main is None or not self._panes_ready:
            return
        with contextlib.suppress(NoMatches):  # NoMatches: the screen is being torn down
            self._apply(main, snap, self._log_entries())
        if snap is not None and snap.last_event_ts is not None:
            self._settle_heap()  # the engine has started (history loaded) and trades

    def _apply(self, main: MainScreen, snap: EngineSnapshot | None, entries: list[Any]) -> None:
        with self.batch_update():
            main.query_one(StatusBar).show(snap, self.now(), self.engine_note)
            changed = snap is not None and snap.version != self.applied_version
            if changed and snap is not None:
                self.apply_snapshot(main, snap)
            if entries:
                main.query_one(LogPane).add_entries(entries)
            if changed or self._ticks % 2 == 0:
                main.query_one(ChartPane).poll()

    def now(self) -> datetime:
        """The wall clock the status bar shows (snapshot tests freeze it)."""
        return datetime.now(UTC)

    def _settle_heap(self) -> None:
        """Keep the interpreter's pauses short once the engine trades (undone when the app ends).

        Three threads share the interpreter: the UI painting frames, the engine and the
        terminal's input thread (where the kill key is acted on). Two things made the last two
        wait for tens to hundreds of ms:

        - A full garbage collection walks every tracked object (a few hundred thousand with the
          engine's history and the UI built) while no thread runs: 100-300 ms, every few seconds
          under a fast feed. What exists when the engine has started lives as long as the app:
          it is frozen out of those passes, and so is what survived each full pass once the UI
          has settled (``GC_SETTLE``), so that a pass walks only what came since the last one.
          With painted lines no longer cyclic garbage (``_strip_cycles``) there is little for a
          full pass to free: it runs after ``GC_FULL_EVERY`` middle passes instead of 10.
        - A thread that wants the interpreter waits up to the switch interval (5 ms) for the
          one running, at every hand-over: ``SWITCH_INTERVAL`` makes that about 1 ms.
        """
        full = gc.get_stats()[2]["collections"]
        started, frozen_at = self._gc_mark
        if self._heap_frozen == 0:
            gc.freeze()
            self._heap_frozen = 1
            self._gc_mark = (time.monotonic(), -1)
            young, middle, old = self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(young, middle, max(old, self.GC_FULL_EVERY))
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, self.SWITCH_INTERVAL))
        elif frozen_at < 0:
            if time.monotonic() - started >= self.GC_SETTLE:
                self._gc_mark = (started, full)  # freeze after the next full collection
        elif full > frozen_at:  # a full collection ran since the last freeze: little garbage now
            gc.freeze()
            self._heap_frozen += 1
            self._gc_mark = (started, full)

    def _restore_gc(self) -> None:
        if self._heap_frozen:
            self._heap_frozen = 0
            gc.unfreeze()
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    def get_screen_main(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def _log_entries(self) -> list[Any]:
        logbook = getattr(self.engine, "logbook", None)
        if logbook is None:
            return []
        main = self.get_screen_main()
        if main is None:
            return []
        since = main.query_one(LogPane).last_seq
        try:
            return list(logbook.entries_since(since, limit=LOG_BATCH))
        except TypeError:  # a log book without ``limit``
            return list(logbook.entries_since(since))[:LOG_BATCH]

    def apply_snapshot(self, main: MainScreen, snap: EngineSnapshot) -> None:
        self.snapshot = snap
        self.applied_version = snap.version
        self.applied_count += 1
        main.query_one(StrategiesTable).update_rows(snap.strategies)
        orders = main.query_one(OrdersTable)
        orders.update_rows(snap.orders)
        # order times are on the market's clock: the simulated market's own time on SIM (the
        # status bar shows it next to the wall clock), Moscow time otherwise
        orders.set_label("time", "Sim MSK" if snap.mode is Mode.SIM else "MSK")
        main.query_one(PositionsTable).update_rows(snap.positions)
        self._announce_rejections(snap)
        chart = main.query_one(ChartPane)
        instruments = self.instruments()
        # none yet: the first one at once; a saved one not traded any more: only once start-up
        # is over (while history loads, the list holds only the instruments loaded so far)
        if instruments and (
            chart.instrument is None or (snap.started and chart.instrument not in instruments)
        ):
            chart.set_instrument(instruments[0])
        if snap.trading_state is not self._footer_state:  # R appears or goes
            self._footer_state = snap.trading_state
            # (the footer is rebuilt off the kill path, with the banner)
            self.set_timer(Banner.reveal_delay, self._refresh_footer, name="footer")
        banner = main.query_one(Banner)
        if snap.trading_state is TradingState.HALTED:
            open_count = len(snap.open_orders)
            tail = f", {open_count} order(s) still cancelling" if open_count else ""
            reason = getattr(snap, "halt_reason", "") or self.kill_reason
            banner.show_message(f"TRADING HALTED ({reason}){tail}")
        elif snap.trading_state is TradingState.REDUCING:
            reason = getattr(snap, "halt_reason", "") or "manual"
            banner.show_message(f"TRADING REDUCING: only reducing orders ({reason}); R resumes")
        elif banner.shown and self.engine_error is None and not self.engine_note:
            banner.hide()

    def _announce_rejections(self, snap: EngineSnapshot) -> None:
        """A notification for each order refused since the last snapshot, with its reason: for
        a broker rejection the numeric code, the broker's message, the tracking id and what to
        do (the log pane has the same line). Only this run's: orders refused before start-up
        (recovery) was over are not repeated (avin_tui.notices). After an unclean stop, one
        notice of what was recovered, with the key to the details."""
        recovered = self.notices.recovery_notice(snap, self.engine)
        if recovered is not None:
            text, severity = recovered
            self.notify(text, title="recovered after a crash", severity=severity, timeout=20)
        new = self.notices.new_rejections(snap, restored_orders(self.engine))
        if not new:
            return
        for row in new[-REJECTION_TOASTS:]:
            what = f"{ticker(row.instrument)} {row.side} {row.lots} lot(s)"
            self.notify(
                f"{what}: {row.reason or 'no reason given'}",
                title=f"order {row.key[:8]} rejected",
                severity="error",
                timeout=REJECTION_TIMEOUT,
            )
        if len(new) > REJECTION_TOASTS:
            more = len(new) - REJECTION_TOASTS
            self.notify(f"{more} more order(s) rejected: see the log", severity="error")

    def _refresh_footer(self) -> None:
        """The footer's keys again (R comes and goes with the trading state). The timer may fire
        while the app closes, when no screen is left to refresh: nothing to do then."""
        with contextlib.suppress(ScreenStackError):
            self.refresh_bindings()

    def instruments(self) -> list[str]:
        snap = self.snapshot
        if snap is None:
            return []
        names = list(snap.instruments)
        for code in [s.instrument for s in snap.strategies] + [
            p.instrument for p in snap.positions
        ]:
            if code not in names:
                names.append(code)
        return names

    # --- commands -----------------------------------------------------------------------------

    def post_message(self, message: Message) -> bool:
        """Every message for the App passes here; a kill key is acted on before it is queued.

        A key reaches the App as a task on the UI loop that only queues it, so in the queue it
        would wait behind a refresh, a poll or other messages. The terminal driver has already
        acted on it on its input thread (``with_kill_fast_path``); this catches every other way
        a key arrives (the headless driver, Pilot). ``fast_kill`` only signals the engine.
        """
        if isinstance(message, events.Key) and message.key in KILL_KEYS:
            with contextlib.suppress(Exception):
                self.fast_kill(message)
        return super().post_message(message)

    def fast_kill(self, key: events.Key) -> None:
        """Halt on a kill key the moment it is seen (from any thread), once per key press.

        The key then goes on to its priority binding, which shows the banner and does not call
        the engine again. A key that a text field takes is left to the binding.
        """
        if getattr(key, FAST_KILL_MARK, False):
            return  # acted on already (on the terminal's input thread)
        if key.key == "K" and _typing_text(self):
            return
        focused = self.focused
        if focused is not None and getattr(focused, "accepts_text", False):
            return  # a text field has the key: the binding decides
        setattr(key, FAST_KILL_MARK, True)
        self.engine.kill("manual: keyboard")
        self._fast_kill_at = time.monotonic()
        self.fast_kills += 1  # the same key reaches the binding next: it then skips the call

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume_trading":  # in the footer only when there is something to resume
            try:
                return self.engine.snapshot().trading_state is not TradingState.ACTIVE
            except Exception:
                return True
        # a K typed into a form is a letter; ctrl+k still kills
        return not (action == "kill_key" and _typing_text(self))

    def action_kill_key(self) -> None:
        self.action_kill()

    def action_kill(self) -> None:
        """The kill switch: signal the engine at once, no confirmation, then show the banner."""
        self.kill_reason = "manual: keyboard"
        try:
            recent = time.monotonic() - self._fast_kill_at < FAST_KILL_WINDOW
            if self.fast_kills > 0 and recent:  # this key press was acted on before the queue
                self.fast_kills -= 1
            else:
                self.fast_kills = 0  # (a stale count must never swallow a kill)
                self.engine.kill("manual: keyboard")
        except Exception as exc:
            self.query_one(Banner).show_message(
                f"KILL FAILED: {exc} — run `avin kill` from another shell"
            )
            return
        self.query_one(Banner).show_message("KILL SWITCH: trading HALTED, cancelling open orders")
        self.call_later(self.poll)

    def action_log_viewer(self) -> None:
        """``L``: avin.log full screen, with the Log pane's filters and search."""
        from avin_tui.screens.log_viewer import LogViewerScreen

        main = self.get_screen_main()
        if main is None or isinstance(self.screen, LogViewerScreen):
            return
        pane = main.query_one(LogPane)
        path = pane.logs_dir() / "avin.log"
        if not path.is_file():
            self.notify(f"{path} does not exist (yet)", title="log", severity="warning")
            return
        self.push_screen(LogViewerScreen(path, state=pane.get_state()))

    # --- the workspace: pane sizes, maximise, theme ----------------------------------------------

    def _pane_to_size(self) -> tuple[MainScreen, str] | None:
        main = self.get_screen_main()
        if main is None or self.screen is not main:
            return None
        return main, self._focused_pane

    def action_resize_pane(self, step: int) -> None:
        """``>``/``<``: the focused pane grows or shrinks (its column and row(s))."""
        target = self._pane_to_size()
        if target is None:
            return
        main, pane = target
        if main.maximized is not None:
            main.minimize()
        if self.pane_sizes.resize(pane, step, narrow=main.has_class("-narrow")):
            self.pane_sizes.apply(main)
            self.layout_changed()

    def action_reset_panes(self) -> None:
        target = self._pane_to_size()
        if target is not None:
            self.pane_sizes.reset()
            self.pane_sizes.apply(target[0])
            self.layout_changed()

    def action_maximize_pane(self) -> None:
        """``z``: the focused pane fills the screen; again (or Escape) restores the layout."""
        target = self._pane_to_size()
        if target is None:
            return
        main, pane = target
        if main.maximized is not None:
            main.minimize()
        else:
            main.maximize(main.query_one(f"#{pane}"), container=False)
        self.layout_changed()

    def action_toggle_theme(self) -> None:
        self.set_theme("light" if self.theme_name == "dark" else "dark")

    def set_theme(self, name: str, save: bool = True) -> None:
        """Dark or light (the stylesheets carry both modes' colours)."""
        self.theme_name = "light" if name == "light" else "dark"
        self.theme = "textual-light" if self.theme_name == "light" else "textual-dark"
        if save:
            self.layout_changed()

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(*args, **kwargs)
        self.layout_changed()  # the open screen is part of the workspace
        return result

    def pop_screen(self) -> Any:
        result = super().pop_screen()
        self.layout_changed()
        return result

    def action_backtests(self) -> None:
        from avin_tui.screens.backtests import BacktestsScreen

        if not isinstance(self.screen, BacktestsScreen):
            self.push_screen(BacktestsScreen())

    def action_recovery_details(self) -> None:
        """What start-up recovery restored and booked after an unclean stop."""
        from avin_tui.screens.recovery import RecoveryScreen, recovery_details

        if isinstance(self.screen, RecoveryScreen):
            return
        text = recovery_details(self.snapshot, recovery_report(self.engine))
        self.push_screen(RecoveryScreen(text))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_focus_pane(self, pane: str) -> None:
        if pane in PANES and isinstance(self.screen, MainScreen):
            self.screen.query_one(f"#{pane}").focus()

    def _chart(self) -> ChartPane | None:
        main = self.get_screen_main()
        return None if main is None else main.query_one(ChartPane)

    def action_timeframe(self, step: int) -> None:
        chart = self._chart()
        if chart is not None:
            chart.shift_timeframe(step)
            self.layout_changed()

    def action_toggle_depth(self) -> None:
        """``t``: the chart pane shows the order book and the tape of its instrument (again:
        candles); the pane's ``get_state()`` carries it into the workspace."""
        chart = self._chart()
        if chart is not None:
            chart.toggle_depth()
            self.layout_changed()

    def action_next_instrument(self) -> None:
        chart = self._chart()
        names = self.instruments()
        if chart is None or not names:
            return
        i = names.index(chart.instrument) + 1 if chart.instrument in names else 0
        chart.set_instrument(names[i % len(names)])
        self.layout_changed()

    def action_toggle_term(self, term: int) -> None:
        chart = self._chart()
        if chart is not None:
            chart.toggle_term(term)
            self.layout_changed()

    @on(InstrumentSelected)
    def _follow_instrument(self, message: InstrumentSelected) -> None:
        chart = self._chart()
        if chart is not None and chart.instrument != message.instrument:
            chart.set_instrument(message.instrument)
            self.layout_changed()

    @on(StrategyToggleRequested)
    def _toggle_strategy(self, message: StrategyToggleRequested) -> None:
        if message.state == "stopped" and hasattr(self.engine, "start_strategy"):
            self._command(self.engine.start_strategy, message.strategy_id)
            return
        self._command(
            self.engine.resume_strategy
            if message.state == "paused"
            else self.engine.pause_strategy,
            message.strategy_id,
        )

    @on(OrderCancelRequested)
    def _cancel_order(self, message: OrderCancelRequested) -> None:
        self._command(self.engine.cancel_order, message.order_key)

    def _command(self, command: Callable[[str], None], arg: str) -> None:
        try:
            command(arg)
        except Exception as exc:
            self.notify(f"{exc}", title="refused", severity="warning")
        self.call_later(self.poll)

    # --- quitting -----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit is not kill: with live orders or open positions it asks first; then the engine
        stops cleanly."""
        if isinstance(self.screen, ConfirmQuitScreen):
            return
        try:
            snap = self.engine.snapshot()
            open_orders = len(snap.open_orders)
            open_positions = sum(1 for p in snap.positions if p.lots)
        except Exception:
            open_orders = open_positions = 0
        if (open_orders or open_positions) and self.engine_error is None:
            self.push_screen(ConfirmQuitScreen(open_orders, open_positions), self._quit_choice)
            return
        await self.stop_and_exit()

    def _quit_choice(self, choice: QuitChoice | None) -> None:
        if choice == "kill":
            self.action_kill()
        if choice in ("quit", "kill"):
            self.run_worker(
                self.stop_and_exit(wait_cancels=choice == "kill"),
                group="quit",
                exit_on_error=False,
            )

    async def stop_and_exit(self, wait_cancels: bool = False, timeout: float = 5.0) -> None:
        if self._quitting:
            return
        self._quitting = True
        if self._layout_timer is not None:
            self.save_layout()
        self.engine_note = "stopping"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if wait_cancels:  # give the engine a moment to get the cancels out before it stops
            while loop.time() < deadline - timeout / 2:
                try:
                    if not self.engine.snapshot().open_orders:
                        break
                except Exception:
                    break
                await asyncio.sleep(0.05)
        with contextlib.suppress(Exception):
            self.engine.request_stop()
        worker = self.engine_worker
        if worker is not None and not worker.is_finished:
            # a timeout, or the engine failing while it stops: exit anyway
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.wait(), max(0.1, deadline - loop.time()))
        self.exit(0)
