"""Restart the robot after a crash, with backoff; stop after a crash loop.

A child that exits with 0 stopped cleanly (``--duration``, SIGTERM): the supervisor ends too.
Exit codes 2 (configuration) and 3 (broker unavailable) are not crashes a restart can fix: the
supervisor ends with that code. Anything else (an exception, SIGKILL, an OOM kill) is a crash: the
child is started again after ``backoff`` seconds, doubling up to ``max_backoff`` while it keeps
crashing quickly. ``max_crashes`` crashes within ``window`` seconds are a crash loop: the
supervisor logs an incident and exits 1 (the state is intact; the next start recovers it).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from engine.model.incidents import incident

log = logging.getLogger("avin.supervisor")

PERMANENT = frozenset({2, 3})
EXIT_LOOP = 1


@dataclass(slots=True)
class SupervisorPolicy:
    max_crashes: int = 5
    window: float = 300.0  # seconds
    backoff: float = 1.0
    max_backoff: float = 60.0
    stable: float = 60.0  # a child that ran this long resets the backoff


@dataclass(slots=True)
class Supervisor:
    command: Sequence[str]
    policy: SupervisorPolicy = field(default_factory=SupervisorPolicy)
    sleep: Callable[[float], None] = time.sleep
    starts: int = 0
    crashes: deque[float] = field(default_factory=deque)
    _child: subprocess.Popen[bytes] | None = None
    _stopping: bool = False

    def stop(self, signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        """Stop supervising: pass the signal to the child and do not restart it."""
        self._stopping = True
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def run(self) -> int:
        delay = self.policy.backoff
        while True:
            self.starts += 1
            started = time.monotonic()
            log.info("starting (%d): %s", self.starts, " ".join(self.command))
            self._child = subprocess.Popen(list(self.command))
            code = self._child.wait()
            lived = time.monotonic() - started
            if self._stopping or code == 0:
                log.info("the robot stopped (exit %d); not restarting", code)
                return 0 if self._stopping else code
            if code in PERMANENT:
                log.error("the robot cannot start (exit %d); not restarting", code)
                return code
            now = time.monotonic()
            self.crashes.append(now)
            while self.crashes and now - self.crashes[0] > self.policy.window:
                self.crashes.popleft()
            what = f"signal {-code}" if code < 0 else f"exit {code}"
            if len(self.crashes) >= self.policy.max_crashes:
                log.critical(
                    "crash loop: %d crashes within %.0f s (last: %s); giving up",
                    len(self.crashes),
                    self.policy.window,
                    what,
                )
                incident(
                    "crash loop: the supervisor stopped restarting avin",
                    crashes=len(self.crashes),
                    window=self.policy.window,
                    last=what,
                )
                return EXIT_LOOP
            if lived >= self.policy.stable:
                delay = self.policy.backoff
            log.warning(
                "the robot crashed (%s) after %.1f s; restart in %.1f s", what, lived, delay
            )
            incident("avin crashed; restarting", last=what, restart_in=delay)
            self.sleep(delay)
            if self._stopping:
                return 0
            delay = min(delay * 2, self.policy.max_backoff)
