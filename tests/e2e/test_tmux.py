"""End to end: ``avin`` in a real terminal (a detached tmux session), driven by keys.

Checks the screen shows the five panes with live data and no traceback, that ``q`` quits (with
the confirmation when orders are open), that the process exits and the terminal is restored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TMUX = shutil.which("tmux")
AVIN = Path(sys.executable).parent / "avin"
EXITED = re.compile(r"AVIN_EXITED rc=(\d+)")  # the echo's output, not the command line
TITLES = ("Strategies", "Orders", "Positions", "Log", "Chart")


class Tmux:
    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session

    def run(self, *args: str, check: bool = True) -> str:
        assert TMUX is not None
        out = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        if check and out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {out.stderr}")
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def display(self, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", self.session, fmt).strip()

    def wait(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{text}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if TMUX is None:
        pytest.skip("tmux is not installed: the end-to-end test needs a real terminal")
    if not AVIN.exists():
        pytest.skip(f"{AVIN} is missing: install the package (pip install -e .)")
    term = Tmux(f"avin-e2e-{os.getpid()}", "avin")
    env = ["-e", f"AVIN_HOME={tmp_path}", "-e", "TERM=xterm-256color"]
    term.run(
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        term.session,
        "-x",
        "100",
        "-y",
        "30",
        *env,
        "bash --norc --noprofile",
    )
    term.run("set-option", "-g", "escape-time", "10")
    try:
        yield term
    finally:
        term.run("kill-server", check=False)


def test_avin_runs_in_a_terminal_and_quits_cleanly(tmux: Tmux, tmp_path: Path) -> None:
    tmux.send(f"cd {tmp_path} && PS1='$ ' && clear", "Enter")
    tmux.send(f"{AVIN} run --speed 600; echo AVIN_EXITED rc=$?", "Enter")

    def live(text: str) -> bool:
        return (
            all(title in text for title in TITLES)
            and "running" in text  # strategy rows
            and "INFO" in text  # log lines
            and "MSK" in text  # the status bar clock
        )

    screen = tmux.wait(lambda t: live(t) or "Traceback" in t, 30, "the five panes with data")
    assert "Traceback" not in screen
    assert "SIM" in screen and "ACTIVE" in screen
    assert tmux.display("#{alternate_on}") == "1"
    time.sleep(2)  # let it run a little longer: still healthy
    screen = tmux.screen()
    assert "Traceback" not in screen and live(screen)

    tmux.send("q")
    screen = tmux.wait(
        lambda t: "Quit anyway" in t or EXITED.search(t) is not None,
        15,
        "the quit dialog or the exit",
    )
    if "Quit anyway" in screen:
        tmux.send("y")
    screen = tmux.wait(lambda t: EXITED.search(t) is not None, 15, "avin to exit")
    match = EXITED.search(screen)
    assert match is not None and match.group(1) == "0", screen
    assert "Traceback" not in screen
    # the terminal is restored: back on the main screen, in the shell
    assert tmux.display("#{alternate_on}") == "0"
    assert tmux.display("#{pane_current_command}") == "bash"
