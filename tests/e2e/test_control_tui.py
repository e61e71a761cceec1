"""End to end: the terminal app's own engine serves the control socket; ``avin status``, ``avin
kill`` and ``avin resume`` from another shell reach it at once, and quitting removes the socket."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.e2e.test_tmux import AVIN, EXITED, TITLES, Tmux, pytestmark, tmux  # noqa: F401


def _avin(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return subprocess.run([str(AVIN), *args], env=env, capture_output=True, text=True, timeout=120)


def test_another_shell_controls_the_apps_engine(tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    tmux.send(f"cd {tmp_path} && PS1='$ ' && clear", "Enter")
    tmux.send(f"{AVIN} run --speed 300; echo AVIN_EXITED rc=$?", "Enter")
    tmux.wait(lambda t: all(title in t for title in TITLES) and "ACTIVE" in t, 30, "the panes")
    sock = tmp_path / "state" / "control.sock"
    assert sock.exists()

    status = json.loads(_avin(tmp_path, "status", "--json").stdout)
    assert status["source"] == "control" and status["trading_state"] == "ACTIVE"
    done = _avin(tmp_path, "kill", "--reason", "from another shell")
    assert done.returncode == 0 and "is HALTED" in done.stdout, done.stderr
    tmux.wait(lambda t: "TRADING HALTED (from another shell)" in t, 15, "the halt on screen")
    done = _avin(tmp_path, "resume", "--yes")
    assert done.returncode == 0 and "is ACTIVE" in done.stdout, done.stderr
    tmux.wait(lambda t: "TRADING HALTED" not in t and "ACTIVE" in t, 15, "ACTIVE on screen")

    tmux.send("q")
    screen = tmux.wait(lambda t: "Quit anyway" in t or EXITED.search(t) is not None, 15, "the quit")
    if "Quit anyway" in screen:
        tmux.send("y")
    screen = tmux.wait(lambda t: EXITED.search(t) is not None, 15, "avin to exit")
    match = EXITED.search(screen)
    assert match is not None and match.group(1) == "0", screen
    assert not sock.exists(), "quitting removes the socket"
