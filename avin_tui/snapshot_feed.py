"""Pull, don't push: the engine's snapshot, read on a timer and applied to the panes.

Each turn (``poll``) updates the status bar and, only when the snapshot's version moved, the
panes (they diff rows) inside one ``batch_update``; the chart rebuilds at most twice a second for
new bars alone. Log records come from the engine's log book in batches of ``LOG_BATCH``. New
order rejections and the one recovery notice become notifications.

Attached to a robot (``avin attach``), a robot that went away (``ConnectionError`` from the
snapshot) is said in the banner over its last state, until it answers again.
"""

from __future__ import annotations

import contextlib
from typing import Any

from textual.css.query import NoMatches

from avin_tui.notices import restored_orders
from avin_tui.screens.main import MainScreen
from avin_tui.widgets._format import ticker
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.chart import ChartPane
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.positions import PositionsTable
from avin_tui.widgets.status_bar import StatusBar
from avin_tui.widgets.strategies import StrategiesTable
from engine.model import Mode
from engine.model.snapshot import EngineSnapshot, TradingState

LOG_BATCH = 2_000  # at most this many log entries per poll (the rest follow on the next ones)
REJECTION_TOASTS = 3  # at most this many "order rejected" notifications per snapshot
ROBOT_AWAY = "robot not reachable"  # the status bar's note while an attached robot is away
REJECTION_TIMEOUT = 30.0  # seconds a rejection stays on screen (it has a tracking id to copy)


class SnapshotFeed:
    """The latest snapshot applied to the main screen (``snapshot``, ``applied_version``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.snapshot: EngineSnapshot | None = None
        self.applied_version: int | None = None
        self.applied_count = 0  # snapshots applied to the panes (tests, benchmarks)
        self.ticks = 0  # polls run
        self.away = ""  # attached: why the robot does not answer (shown in the banner)

    def poll(self) -> None:
        """One turn of the timer: status always, panes when the snapshot version moved."""
        app = self.app
        self.ticks += 1
        snap: EngineSnapshot | None
        away = ""
        try:
            snap = app.engine.snapshot()
        except ConnectionError as exc:  # attached: the robot went away (it may come back)
            away = str(exc) or "no answer"
            app.engine_host.note = ROBOT_AWAY
            snap = self.snapshot
        except Exception as exc:
            app.engine_host.note = f"snapshot failed: {exc}"
            snap = self.snapshot
        else:
            if self.away:  # back: the banner goes, the panes take the robot's state again
                self.away = ""
                self.applied_version = None
                if app.engine_host.note == ROBOT_AWAY:
                    app.engine_host.note = ""
        main = app.get_screen_main()
        if main is None or not app.panes_ready:
            return
        with contextlib.suppress(NoMatches):  # NoMatches: the screen is being torn down
            self._apply(main, snap, self._log_entries(main))
            if away:
                self._show_away(main, away)
        if snap is not None and snap.last_event_ts is not None:
            app.heap.settle()  # the engine has started (history loaded) and trades

    def _apply(self, main: MainScreen, snap: EngineSnapshot | None, entries: list[Any]) -> None:
        app = self.app
        with app.batch_update():
            main.query_one(StatusBar).show(snap, app.now(), app.engine_host.note)
            changed = snap is not None and snap.version != self.applied_version
            if changed and snap is not None:
                self.apply_snapshot(main, snap)
            if entries:
                main.query_one(LogPane).add_entries(entries)
            if changed or self.ticks % 2 == 0:
                main.query_one(ChartPane).poll()

    def _show_away(self, main: MainScreen, why: str) -> None:
        if why == self.away:
            return
        self.away = why
        where = getattr(self.app.engine, "where", "its socket")
        text = f"ROBOT NOT REACHABLE on {where}: {why}; reconnecting (last state shown, q quits)"
        main.query_one(Banner).show_message(text)

    def _log_entries(self, main: MainScreen) -> list[Any]:
        logbook = getattr(self.app.engine, "logbook", None)
        if logbook is None:
            return []
        since = main.query_one(LogPane).last_seq
        try:
            return list(logbook.entries_since(since, limit=LOG_BATCH))
        except TypeError:  # a log book without ``limit``
            return list(logbook.entries_since(since))[:LOG_BATCH]

    def apply_snapshot(self, main: MainScreen, snap: EngineSnapshot) -> None:
        app = self.app
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
        app.trading_state = snap.trading_state  # the footer's R comes and goes (a watcher)
        banner = main.query_one(Banner)
        if snap.trading_state is TradingState.HALTED:
            open_count = len(snap.open_orders)
            tail = f", {open_count} order(s) still cancelling" if open_count else ""
            reason = getattr(snap, "halt_reason", "") or app.kill_switch.reason
            banner.show_message(f"TRADING HALTED ({reason}){tail}")
        elif snap.trading_state is TradingState.REDUCING:
            reason = getattr(snap, "halt_reason", "") or "manual"
            banner.show_message(f"TRADING REDUCING: only reducing orders ({reason}); R resumes")
        elif banner.shown and app.engine_host.error is None and not app.engine_host.note:
            banner.hide()

    def _announce_rejections(self, snap: EngineSnapshot) -> None:
        """A notification for each order refused since the last snapshot, with its reason: for
        a broker rejection the numeric code, the broker's message, the tracking id and what to
        do (the log pane has the same line). Only this run's: orders refused before start-up
        (recovery) was over are not repeated (avin_tui.notices). After an unclean stop, one
        notice of what was recovered, with the key to the details."""
        app = self.app
        recovered = app.notices.recovery_notice(snap, app.engine)
        if recovered is not None:
            text, severity = recovered
            app.notify(text, title="recovered after a crash", severity=severity, timeout=20)
        new = app.notices.new_rejections(snap, restored_orders(app.engine))
        if not new:
            return
        for row in new[-REJECTION_TOASTS:]:
            what = f"{ticker(row.instrument)} {row.side} {row.lots} lot(s)"
            app.notify(
                f"{what}: {row.reason or 'no reason given'}",
                title=f"order {row.key[:8]} rejected",
                severity="error",
                timeout=REJECTION_TIMEOUT,
            )
        if len(new) > REJECTION_TOASTS:
            more = len(new) - REJECTION_TOASTS
            app.notify(f"{more} more order(s) rejected: see the log", severity="error")

    def instruments(self) -> list[str]:
        """The instruments of the last snapshot, then those of its strategies and positions."""
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
