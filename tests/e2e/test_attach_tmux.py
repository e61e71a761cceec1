"""End to end: ``avin attach`` in a real terminal (tmux) on a headless robot of the same home.

The attached app shows the five panes; K halts the robot (cancels sent); ``avin resume`` from
another shell shows on it; ``q`` ``d`` detaches with the robot running on; a terminal closed
under an attached app (SIGHUP) leaves the robot running; plain ``avin`` offers to attach, and
``q`` ``s`` there stops the robot cleanly.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.control.test_control_robot import WAIT, Robot, wait_for
from tests.e2e.test_tmux import AVIN, EXITED, TITLES, Tmux, pytestmark, tmux  # noqa: F401


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _live(text: str) -> bool:
    return all(title in text for title in TITLES) and "running" in text and "ACTIVE" in text


def test_attach_kill_detach_hangup_and_stop_from_a_terminal(tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    robot = Robot(tmp_path)
    robot.start()
    try:
        pid = robot.proc.pid  # type: ignore[union-attr]
        with robot.client() as client:
            wait_for("the two resting orders", lambda: len(client.status()["open_orders"]) == 2)
        tmux.send(f"cd {tmp_path} && PS1='$ ' && clear", "Enter")
        tmux.send(f"{AVIN} attach; echo AVIN_EXITED rc=$?", "Enter")
        screen = tmux.wait(lambda t: _live(t) or "Traceback" in t, WAIT, "the attached panes")
        assert "Traceback" not in screen

        tmux.send("K")
        tmux.wait(lambda t: "TRADING HALTED (manual: keyboard)" in t, WAIT, "the halt on screen")
        with robot.client() as client:
            status = wait_for(
                "the cancels", lambda: (s := client.status())["open_orders"] == [] and s
            )
        assert status["trading_state"] == "HALTED" and status["pid"] == pid
        done = robot.avin("resume", "--yes")
        assert done.returncode == 0, done.stderr
        tmux.wait(lambda t: "TRADING HALTED" not in t and "ACTIVE" in t, WAIT, "ACTIVE again")

        tmux.send("q")
        tmux.wait(lambda t: "Attached to the robot" in t, WAIT, "detach or stop")
        tmux.send("d")
        screen = tmux.wait(lambda t: EXITED.search(t) is not None, WAIT, "the detach")
        match = EXITED.search(screen)
        assert match is not None and match.group(1) == "0", screen
        assert robot.running() and robot.socket.exists()

        # a terminal closed under an attached app detaches it; the robot runs on
        tmux.run("new-window", "-t", tmux.session, "-n", "second", f"{AVIN} attach")
        second = Tmux(tmux.socket, f"{tmux.session}:second")
        second.wait(_live, WAIT, "the second attached app")
        attached_pid = int(second.display("#{pane_pid}"))
        tmux.run("kill-window", "-t", f"{tmux.session}:second")
        wait_for("the hung-up app to end", lambda: not _alive(attached_pid))
        with robot.client() as client:
            assert client.status()["pid"] == pid
        assert robot.running()

        tmux.send("clear", "Enter")
        tmux.send(f"{AVIN}; echo AVIN_EXITED rc=$?", "Enter")
        tmux.wait(lambda t: "Attach to it? [Y/n]" in t, WAIT, "the offer to attach")
        tmux.send("Enter")
        tmux.wait(_live, WAIT, "the attached panes")
        tmux.send("q")
        tmux.wait(lambda t: "Attached to the robot" in t, WAIT, "detach or stop")
        tmux.send("s")
        screen = tmux.wait(lambda t: EXITED.search(t) is not None, WAIT, "the stop")
        match = EXITED.search(screen)
        assert match is not None and match.group(1) == "0", screen
        assert robot.proc is not None and robot.proc.wait(WAIT) == 0, robot.output()[-3000:]
        assert not robot.socket.exists(), "a clean stop removes the socket"
    finally:
        if robot.proc is not None and robot.proc.poll() is None:
            robot.proc.kill()
            robot.proc.wait(WAIT)
