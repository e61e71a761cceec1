"""The kill key: acted on the moment it is seen, before any queued UI work.

On the terminal driver's input thread (``with_kill_fast_path``), else as the App receives the key
(``AvinApp.post_message``): ``KillSwitch.fast_kill`` only signals the engine (HALTED and the
cancels handed to the engine's loop; ``kill`` is thread-safe). The key then goes on to its
App-level priority binding, which shows the banner and does not call the engine again
(``KillSwitch.press``). A frozen UI cannot delay a kill; ``avin kill`` is the out-of-band path.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from textual import events
from textual.driver import Driver
from textual.message import Message

KILL_KEYS = frozenset({"ctrl+k", "K"})
KILL_REASON = "manual: keyboard"
FAST_KILL_MARK = "_avin_fast_kill"  # set on a Key event once the kill switch acted on it
FAST_KILL_WINDOW = 2.0  # seconds within which the key's binding skips the (already made) kill


def typing_text(app: Any) -> bool:
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
                switch = getattr(self._app, "kill_switch", None)
                if switch is not None:
                    with contextlib.suppress(Exception):
                        switch.fast_kill(message)
            super().process_message(message)

    KillSwitchDriver.__name__ = f"KillSwitch{base.__name__}"
    return KillSwitchDriver


class KillSwitch:
    """The app's kill key: the fast path (any thread) and the binding's part (the UI loop)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.reason = KILL_REASON
        self.fast_kills = 0  # kill keys acted on before the queue, not yet seen by the binding
        self._fast_kill_at = 0.0

    def fast_kill(self, key: events.Key) -> None:
        """Halt on a kill key the moment it is seen (from any thread), once per key press.

        The key then goes on to its priority binding, which shows the banner and does not call
        the engine again. A key that a text field takes is left to the binding.
        """
        if getattr(key, FAST_KILL_MARK, False):
            return  # acted on already (on the terminal's input thread)
        if key.key == "K" and typing_text(self.app):
            return
        focused = self.app.focused
        if focused is not None and getattr(focused, "accepts_text", False):
            return  # a text field has the key: the binding decides
        setattr(key, FAST_KILL_MARK, True)
        self.app.engine.kill(KILL_REASON)
        self._fast_kill_at = time.monotonic()
        self.fast_kills += 1  # the same key reaches the binding next: it then skips the call

    def press(self) -> None:
        """The binding's part: the engine is signalled unless this key press already did it
        (raises what the engine's ``kill`` raised)."""
        self.reason = KILL_REASON
        recent = time.monotonic() - self._fast_kill_at < FAST_KILL_WINDOW
        if self.fast_kills > 0 and recent:  # this key press was acted on before the queue
            self.fast_kills -= 1
        else:
            self.fast_kills = 0  # (a stale count must never swallow a kill)
            self.app.engine.kill(KILL_REASON)
