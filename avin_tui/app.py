"""The avin terminal app: bindings, screens and theme; each concern in its own module.

``AvinApp(engine, settings)`` builds the main screen and wires the parts:

- ``engine_host``: ``engine.run()`` in its own thread, awaited by a worker (a crash is shown,
  never fatal), stopped with the app;
- ``snapshot_feed``: ``engine.snapshot()`` pulled on a timer and applied to the panes when its
  version moved;
- ``kill_switch``: the kill key acted on the moment it is seen, before any queued UI work (on the
  terminal driver's input thread, else in ``post_message``); it only signals the engine;
- ``layout_keeper``: the workspace restored at start and saved after each change;
- ``quit_flow``: quit asks when orders are live; signals and a lost terminal stop cleanly;
- ``heap``: short interpreter pauses while the engine trades;
- ``pane_actions`` and ``risk_actions``: the keys, mixed in (Textual looks actions up on the App).

The app is the only place that sends commands to the engine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker

from avin_tui import _strip_cycles as strip_cycles
from avin_tui.crash_report import crash_traceback
from avin_tui.engine_host import EngineHost, RunnableEngine
from avin_tui.heap import HeapSettler
from avin_tui.kill_switch import KILL_KEYS, KillSwitch, typing_text, with_kill_fast_path
from avin_tui.layout import UiState, Workspace
from avin_tui.layout_keeper import LayoutKeeper
from avin_tui.notices import DETAILS_KEY, EventNotices
from avin_tui.pane_actions import PaneActionsMixin
from avin_tui.quit_flow import QuitFlow
from avin_tui.risk_actions import RiskActionsMixin
from avin_tui.screens.live_confirm import LiveConfirmScreen
from avin_tui.screens.main import MainScreen
from avin_tui.snapshot_feed import SnapshotFeed
from avin_tui.stop_guard import watch_terminal
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.strategies import StrategiesTable
from engine.model import Mode
from engine.model.redact import redact
from engine.model.snapshot import TradingState

PACKAGE_DIR = Path(__file__).resolve().parent
FIRST_FRAME_ENV = (
    "AVIN_FIRST_FRAME_FILE"  # bench/startup.py: write the time of the first frame, exit
)


def theme_path(name: str) -> Path:
    """The stylesheet of a theme, ``dark`` unless ``light``: ``avin_tui/themes/`` (in a checkout a
    link to the top-level ``themes/``; package data in the wheel, collected into the binary)."""
    path = PACKAGE_DIR / "themes" / f"{'light' if name == 'light' else 'dark'}.tcss"
    if not path.is_file():
        raise FileNotFoundError(f"theme {name!r} not found: {path}")
    return path


PANE_KEYS = Binding.Group("Panes", compact=True)  # s o p l c: one footer entry


def _ui_setting(settings: Any, name: str, default: Any) -> Any:
    return getattr(getattr(settings, "ui", None), name, default)


class AvinApp(RiskActionsMixin, PaneActionsMixin, App[int]):
    TITLE = "avin"
    ENABLE_COMMAND_PALETTE = False
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
        Binding("A", "accounts", "Accounts", show=False),
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

    theme_name: reactive[str] = reactive("dark", init=False)  # "dark" or "light"
    trading_state: reactive[TradingState | None] = reactive(None, init=False)  # of the snapshot

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
        theme = "light" if _ui_setting(settings, "theme", "dark") == "light" else "dark"
        super().__init__(css_path=[theme_path(theme)])
        self.set_reactive(AvinApp.theme_name, theme)
        strip_cycles.install()  # painted lines freed when repainted, not by full collections
        self.engine = engine
        self.settings = settings
        hz = float(_ui_setting(settings, "refresh_hz", 4.0) or 4.0)
        self.poll_interval = poll_interval if poll_interval is not None else 1.0 / hz
        self.run_engine = run_engine
        self.panes_ready = False
        self.engine_host = EngineHost(self, engine)
        self.feed = SnapshotFeed(self)
        self.kill_switch = KillSwitch(self)
        self.heap = HeapSettler()
        self.quit_flow = QuitFlow(self)
        self.layout_keeper = LayoutKeeper(
            self, Workspace.of(engine), persist=persist_layout, debounce=layout_debounce
        )
        self.notices = EventNotices()  # which rejections are new; the one recovery notice
        self._first_frame_file = os.environ.get(FIRST_FRAME_ENV)

    # --- lifecycle ----------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        return with_kill_fast_path(watch_terminal(super().get_driver_class()))

    def run(self, *args: Any, **kwargs: Any) -> int | None:
        try:
            return super().run(*args, **kwargs)
        finally:
            self.quit_flow.ended()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification (the widgets' too) masked as the log is: secrets, and account ids
        with ``[privacy] hide_accounts`` (a strategy id names its account)."""
        super().notify(
            redact(message), title=redact(title), severity=severity, timeout=timeout, markup=markup
        )

    def _fatal_error(self) -> None:
        """Textual's crash report (called while its exception is handled) without the frames'
        local variables and with secrets masked (avin_tui/crash_report.py)."""
        exc_type, error, tb = sys.exc_info()
        if exc_type is None or error is None:
            super()._fatal_error()
            return
        self.bell()
        self.panic(crash_traceback((exc_type, error, tb)))

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    def on_mount(self) -> None:
        self.theme = "textual-light" if self.theme_name == "light" else "textual-dark"
        if self.run_engine:
            if self._trades_real_money():
                self.push_screen(LiveConfirmScreen(), self._live_answer)
            else:
                self.engine_host.start()
        self.set_interval(self.poll_interval, self.poll, name="snapshot-poll")
        self.call_after_refresh(self._setup_panes)
        if not self.is_headless:
            self.quit_flow.install_signal_handlers()

    def _trades_real_money(self) -> bool:
        try:
            return self.engine.snapshot().mode is Mode.LIVE
        except Exception:  # a snapshot that fails is not a reason to skip the question
            return True

    def _live_answer(self, confirmed: bool | None) -> None:
        if confirmed:
            self.engine_host.start()
        else:
            self.exit(0, message="avin: not confirmed; nothing was traded")

    def _setup_panes(self) -> None:
        main = self.get_screen_main()
        if main is None:
            return
        main.query_one(ChartPane).source = self.engine
        main.query_one(StrategiesTable).focus()
        if self.layout_keeper.persist:
            self.layout_keeper.restore(main)
        self.panes_ready = True
        self.poll()
        if self._first_frame_file:  # the first frame with the panes filled from a snapshot
            self.call_after_refresh(self._first_frame)

    def _first_frame(self) -> None:
        assert self._first_frame_file is not None
        Path(self._first_frame_file).write_text(f"{time.time():.6f}\n")
        self.engine.request_stop()
        self.exit(0)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.engine_host.worker_changed(event, quitting=self.quit_flow.quitting)

    async def on_unmount(self) -> None:
        """However the app ends, the engine is asked to stop and given a moment to shut down."""
        self.layout_keeper.save_pending()
        self.heap.restore()
        await self.engine_host.shut_down()

    def get_screen_main(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def poll(self) -> None:
        """One turn of the snapshot timer (and after each command): ``SnapshotFeed.poll``."""
        self.feed.poll()

    def now(self) -> datetime:
        """The wall clock the status bar shows (snapshot tests freeze it)."""
        return datetime.now(UTC)

    def watch_trading_state(self) -> None:
        """R comes and goes with the trading state: the footer is rebuilt off the kill path,
        with the banner."""
        self.set_timer(Banner.reveal_delay, self._refresh_footer, name="footer")

    def _refresh_footer(self) -> None:
        """The footer's keys again. The timer may fire while the app closes, when no screen is
        left to refresh: nothing to do then."""
        with contextlib.suppress(ScreenStackError):
            self.refresh_bindings()

    # --- the workspace --------------------------------------------------------------------------

    def layout_changed(self) -> None:
        """A pane, the chart or a screen changed: the workspace is saved about a second later
        (panes and screens call this)."""
        self.layout_keeper.changed()

    def current_layout(self) -> UiState:
        return self.layout_keeper.current()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.layout_keeper.focus_moved(event)

    def set_theme(self, name: str, save: bool = True) -> None:
        """Dark or light (the stylesheets carry both modes' colours)."""
        self.theme_name = "light" if name == "light" else "dark"
        if save:
            self.layout_changed()

    def watch_theme_name(self, name: str) -> None:
        self.theme = "textual-light" if name == "light" else "textual-dark"

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(*args, **kwargs)
        self.layout_changed()  # the open screen is part of the workspace
        return result

    def pop_screen(self) -> Any:
        result = super().pop_screen()
        self.layout_changed()
        return result

    # --- kill and quit --------------------------------------------------------------------------

    def post_message(self, message: Message) -> bool:
        """Every message for the App passes here; a kill key is acted on before it is queued.

        A key reaches the App as a task on the UI loop that only queues it, so in the queue it
        would wait behind a refresh, a poll or other messages. The terminal driver has already
        acted on it on its input thread (``with_kill_fast_path``); this catches every other way
        a key arrives (the headless driver, Pilot). ``fast_kill`` only signals the engine.
        """
        if isinstance(message, events.Key) and message.key in KILL_KEYS:
            with contextlib.suppress(Exception):
                self.kill_switch.fast_kill(message)
        return super().post_message(message)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resume_trading":  # in the footer only when there is something to resume
            try:
                return self.engine.snapshot().trading_state is not TradingState.ACTIVE
            except Exception:
                return True
        # a K typed into a form is a letter; ctrl+k still kills
        return not (action == "kill_key" and typing_text(self))

    def action_kill_key(self) -> None:
        self.action_kill()

    def action_kill(self) -> None:
        """The kill switch: signal the engine at once, no confirmation, then show the banner."""
        try:
            self.kill_switch.press()
        except Exception as exc:
            self.query_one(Banner).show_message(
                f"KILL FAILED: {exc} — run `avin kill` from another shell"
            )
            return
        self.query_one(Banner).show_message("KILL SWITCH: trading HALTED, cancelling open orders")
        self.call_later(self.poll)

    async def action_quit(self) -> None:
        """Quit is not kill: with live orders or open positions it asks first."""
        await self.quit_flow.ask()

    def terminal_gone(self) -> None:
        """The terminal went away (any thread; ``stop_guard``'s driver reports it here)."""
        self.quit_flow.terminal_gone()
