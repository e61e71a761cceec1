"""Quitting and being stopped from outside.

Quit is not kill: with live orders or open positions ``q`` asks first (keep them, or kill and
quit); then the engine stops cleanly and the app exits. SIGTERM, SIGHUP and a terminal that went
away take the same clean stop whatever screen is open, within a deadline (``avin_tui.stop_guard``);
a second signal leaves the exit to the guard's watchdog.

Attached to a running robot (``avin attach``), ``q`` asks instead: detach (the robot keeps
running) or stop the robot; anything else that ends the app (a signal, a lost terminal) detaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from typing import Any

from avin_tui.screens.confirm_quit import ConfirmQuitScreen, QuitChoice
from avin_tui.screens.detach_or_stop import AttachChoice, DetachOrStopScreen
from avin_tui.stop_guard import StopGuard, silence_terminal

log = logging.getLogger("avin.tui")
STOP_TIMEOUT = 5.0  # seconds the engine gets to stop before the app exits anyway
ROBOT_STOP_TIMEOUT = 30.0  # seconds an attached app waits for the robot it stopped to be gone


class QuitFlow:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.quitting = False
        self.stop_guard: StopGuard | None = None  # SIGTERM/SIGHUP/terminal lost (terminal only)
        self._tty_fd: int | None = None  # the terminal watched for going away

    async def ask(self) -> None:
        """``q``: with live orders or open positions ask first; else stop and exit."""
        app = self.app
        if isinstance(app.screen, ConfirmQuitScreen | DetachOrStopScreen):
            return
        try:
            snap = app.engine.snapshot()
            open_orders = len(snap.open_orders)
            open_positions = sum(1 for p in snap.positions if p.lots)
        except Exception:
            open_orders = open_positions = 0
        if getattr(app.engine, "remote", False):
            where = str(app.engine.where)
            screen = DetachOrStopScreen(where, open_orders, open_positions)
            app.push_screen(screen, self._attach_choice)
            return
        if (open_orders or open_positions) and app.engine_host.error is None:
            app.push_screen(ConfirmQuitScreen(open_orders, open_positions), self._choice)
            return
        await self.stop_and_exit()

    def _choice(self, choice: QuitChoice | None) -> None:
        if choice == "kill":
            self.app.action_kill()
        if choice in ("quit", "kill"):
            self.app.run_worker(
                self.stop_and_exit(wait_cancels=choice == "kill"),
                group="quit",
                exit_on_error=False,
            )

    def _attach_choice(self, choice: AttachChoice | None) -> None:
        if choice == "detach":
            self.app.run_worker(self.stop_and_exit(), group="quit", exit_on_error=False)
        elif choice == "stop":
            self.app.run_worker(self.stop_robot_and_exit(), group="quit", exit_on_error=False)

    async def stop_robot_and_exit(self, timeout: float = ROBOT_STOP_TIMEOUT) -> None:
        """Attached: ask the robot to stop, wait until it is gone (its socket closed), exit.
        A robot that cannot be asked is said so, and the app stays."""
        app = self.app
        engine = app.engine
        try:
            engine.stop_robot("stopped from an attached terminal")
        except Exception as exc:
            app.notify(f"the robot was not stopped: {exc}", title="stop", severity="error")
            return
        app.engine_host.note = "robot stopping"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and await asyncio.to_thread(engine.robot_alive):
            await asyncio.sleep(0.1)
        gone = not await asyncio.to_thread(engine.robot_alive)
        await self.stop_and_exit()
        if not gone:
            log.warning("the robot did not stop within %g s", timeout)

    async def stop_and_exit(
        self, wait_cancels: bool = False, timeout: float = STOP_TIMEOUT
    ) -> None:
        """Save the workspace, stop the engine (after its cancels are out when it was killed),
        wait for it up to ``timeout`` in all, exit."""
        if self.quitting:
            return
        self.quitting = True
        app = self.app
        app.layout_keeper.save_pending()
        app.engine_host.note = "stopping"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if wait_cancels:  # give the engine a moment to get the cancels out before it stops
            while loop.time() < deadline - timeout / 2:
                try:
                    if not app.engine.snapshot().open_orders:
                        break
                except Exception:
                    break
                await asyncio.sleep(0.05)
        with contextlib.suppress(Exception):
            app.engine.request_stop()
        # a timeout, or the engine failing while it stops: exit anyway
        await app.engine_host.wait(deadline - loop.time())
        app.exit(0)

    # --- stopped from outside -------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM, SIGHUP and a terminal that went away stop the engine cleanly, whatever screen
        is open, within a deadline (avin_tui/stop_guard.py)."""
        self.stop_guard = StopGuard(asyncio.get_running_loop(), self._stop_from_outside)
        self.stop_guard.install()
        with contextlib.suppress(AttributeError, ValueError, OSError):
            if sys.__stdin__ is not None and sys.__stdin__.isatty():
                self._tty_fd = sys.__stdin__.fileno()
                self.app.set_interval(1.0, self._check_terminal, name="terminal-check")

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
        self.app.call_later(self.stop_and_exit)

    def ended(self) -> None:
        """The app has ended: the stop watchdog has nothing left to guard."""
        guard = self.stop_guard
        if guard is not None:
            guard.finished()
            guard.uninstall()
