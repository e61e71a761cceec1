"""Stopping the terminal app from outside: SIGTERM, SIGHUP, or a terminal that went away.

avin runs over SSH inside tmux: an SSH drop, ``tmux kill-server`` or ``systemctl stop`` must end
it cleanly and promptly whatever screen or dialog is open, and never leave a robot running with no
terminal. Each of these becomes the same stop as ``q`` then ``y``: the engine's shutdown (state
saved, journal flushed, the run marker cleared); open orders and positions are kept and taken up
again at the next start (docs/state.md).

``StopGuard`` catches the signals (``signal.signal``: the handler runs even while the UI loop is
busy) and hands the stop to the UI loop. A watchdog thread then ends the process if the stop has
not finished within ``grace`` seconds, or within ``hurry`` seconds of a second request that is not
one more hang-up (a SIGTERM after the first).
``watch_terminal`` makes the terminal driver notice a terminal that went away (a write fails with
EIO) instead of blocking on its output queue, and report it like a hang-up.

Exit codes: 0 when the requested stop finished; 128 + the signal number when the watchdog or a
second signal ended the process (129 for a terminal that went away); the next start then
recovers as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from textual.driver import Driver

log = logging.getLogger("avin.tui")

GRACE = 15.0  # seconds a stop from outside may take (the UI itself gives up after 5 + 5 s)
HURRY = 1.0  # seconds after a second signal
STOP_SIGNALS = ("SIGTERM", "SIGHUP")  # SIGHUP: POSIX only (getattr keeps Windows safe)
HANGUP = int(getattr(signal, "SIGHUP", 1))  # a terminal that went away counts as a hang-up

# on the UI loop: (why, signal number, a second request: exit now)
StopCallback = Callable[[str, int, bool], None]


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopGuard:
    """Turn SIGTERM/SIGHUP and a vanished terminal into one clean stop, with a deadline."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_stop: StopCallback,
        grace: float = GRACE,
        hurry: float = HURRY,
        exit_process: Callable[[int], Any] = os._exit,
    ) -> None:
        self.loop = loop
        self.on_stop = on_stop
        self.grace = grace
        self.hurry = hurry
        self.exit_process = exit_process
        self.requests = 0  # stop requests seen (signals and terminal losses)
        self.signum = 0  # the first request's signal
        self._previous: dict[int, Any] = {}
        self._lock = threading.RLock()  # a signal may land while the main thread holds it
        self._hurried = threading.Event()
        self._finished = threading.Event()
        self._watchdog: threading.Thread | None = None

    def install(self) -> list[int]:
        """Catch the stop signals (main thread only); the ones installed."""
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:  # Windows has no SIGHUP
                continue
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                self._previous[int(signum)] = signal.signal(signum, self._on_signal)
        return list(self._previous)

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, previous)
        self._previous.clear()

    def finished(self) -> None:
        """The stop is over (the app has ended): the watchdog has nothing to do."""
        self._finished.set()

    def terminal_gone(self) -> None:
        """The terminal went away (thread-safe; any number of times): a hang-up."""
        self.request(HANGUP, "the terminal went away")

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request(signum, f"{_signal_name(signum)} received")

    def request(self, signum: int, why: str) -> None:
        """A stop from outside: the first is clean (with a deadline); a later one hurries it,
        unless it is one more hang-up (a closed terminal, the shell's and the kernel's SIGHUP
        all come from the same event)."""
        with self._lock:
            self.requests += 1
            first = self.requests == 1
            again = not first and signum != HANGUP
            if first:
                self.signum = signum
                self._watchdog = threading.Thread(
                    target=self._watch, name="avin-stop-watchdog", daemon=True
                )
                self._watchdog.start()
            elif again:
                self._hurried.set()
        if first or again:
            with contextlib.suppress(RuntimeError):  # the UI loop closed: the process is ending
                self.loop.call_soon_threadsafe(self.on_stop, why, signum, again)

    def _watch(self) -> None:
        hurried = self._hurried.wait(self.grace)
        if hurried:
            self._finished.wait(self.hurry)
        if self._finished.is_set():
            return
        took = f"a second stop request, {self.hurry:g} s" if hurried else f"{self.grace:g} s"
        code = 128 + (self.signum or HANGUP)
        # the log line gets half a second: a stuck thread may hold the log's lock
        note = threading.Thread(target=_log_forced_exit, args=(took, code), daemon=True)
        note.start()
        note.join(0.5)
        self.exit_process(code)


def _log_forced_exit(took: str, code: int) -> None:
    with contextlib.suppress(Exception):
        log.error(
            "the stop did not finish (%s): exiting with %d; the next start recovers", took, code
        )
        for handler in logging.getLogger("avin").handlers:
            handler.flush()


class TerminalFile:
    """The driver's output file; a write that fails (EIO: the terminal went away) reports it once
    and every later write is dropped, so the UI never blocks on a terminal that is gone."""

    def __init__(self, file: Any, on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def _lost(self) -> None:
        if not self.gone:
            self.gone = True
            with contextlib.suppress(Exception):
                self._on_gone()

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return int(self._file.write(text))
            except (OSError, ValueError):  # EIO, or the file was closed
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._lost()

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding...
        return getattr(self._file, name)


def watch_terminal(base: type[Driver]) -> type[Driver]:
    """The terminal driver ``base``, reporting a terminal that went away to the app's
    ``terminal_gone`` (a failed write, or reading the terminal failing) instead of blocking."""

    class TerminalWatchDriver(base):  # type: ignore[valid-type,misc]
        def __init__(self, app: Any, **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            file = getattr(self, "_file", None)
            if file is not None:
                self._file = TerminalFile(file, self._terminal_gone)

        def _terminal_gone(self) -> None:
            report = getattr(self._app, "terminal_gone", None)
            if report is not None:
                report()

        def run_input_thread(self) -> None:
            try:
                super().run_input_thread()
            except OSError:  # EIO: the terminal is gone (a hang-up, not a crash)
                self._terminal_gone()

    TerminalWatchDriver.__name__ = f"TerminalWatch{base.__name__}"
    return TerminalWatchDriver


def silence_terminal() -> None:
    """Point stdout and stderr at the null device (the terminal is gone: a late print or the
    interpreter's final flush must not fail with EIO)."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.__stdout__, sys.__stderr__):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
                os.dup2(null, stream.fileno())
        os.close(null)
