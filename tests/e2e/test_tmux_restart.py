"""End to end: quit ``avin`` with ``q`` in a real terminal, start it again on the same home, and it
carries on trading (issue 13, defect 1): new fills within a minute, no self-trade rejection,
trading ACTIVE, the simulated market going on from where the first run stopped."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.test_tmux import AVIN, EXITED, TITLES, Tmux, pytestmark, tmux  # noqa: F401


def _start(term: Tmux, home: Path) -> None:
    term.send("clear", "Enter")
    term.send(f"{AVIN} run --speed 600; echo AVIN_EXITED rc=$?", "Enter")
    screen = term.wait(
        lambda t: (all(x in t for x in TITLES) and "MSK" in t) or "Traceback" in t,
        30,
        "the five panes",
    )
    assert "Traceback" not in screen


def _quit(term: Tmux) -> None:
    term.send("q")
    screen = term.wait(
        lambda t: "Quit anyway" in t or EXITED.search(t) is not None, 15, "the quit dialog"
    )
    if "Quit anyway" in screen:
        term.send("y")
    screen = term.wait(lambda t: EXITED.search(t) is not None, 20, "avin to exit")
    match = EXITED.search(screen)
    assert match is not None and match.group(1) == "0", screen


def _log_after(log: Path, marker: str, count: int) -> str:
    """The log after the ``count``-th line holding ``marker`` ("" when it is not there yet)."""
    parts = log.read_text().split(marker) if log.exists() else []
    return parts[count] if len(parts) > count else ""


def test_q_then_a_restart_carries_on_trading(tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    tmux.send(f"cd {tmp_path} && PS1='$ '", "Enter")
    log = tmp_path / "logs" / "avin.log"
    _start(tmux, tmp_path)
    deadline = time.monotonic() + 60
    while " filled: " not in _log_after(log, "engine started", 1):
        assert time.monotonic() < deadline, "the first run filled nothing within a minute"
        time.sleep(0.5)
    _quit(tmux)

    _start(tmux, tmp_path)
    deadline = time.monotonic() + 60
    while " filled: " not in (second := _log_after(log, "engine started", 2)):
        assert time.monotonic() < deadline, f"no fill within a minute of the restart:\n{second}"
        time.sleep(0.5)
    assert "self_trade" not in second, second
    between = _log_after(log, "engine started", 1)  # the first run's end, the second's start
    assert "the simulated market carries on from" in between
    # the engine's thread can log a fill before the app has drawn its first snapshot (CI load)
    screen = tmux.wait(lambda text: "ACTIVE" in text, 30, "the restarted app showing ACTIVE")
    assert "Traceback" not in screen
    _quit(tmux)
