"""End to end: avin in a real terminal ends cleanly however it is told to stop (issue: an orphan
robot after ``tmux kill-session`` with the quit dialog open).

avin is started from a shell in a tmux pane, the quit dialog is opened (``q`` with open
positions), and then the process gets SIGTERM, SIGHUP, its tmux session killed, or its terminal
closed under it. Each time it must be gone within a bounded wait, leave no
process behind, and have stopped cleanly: the marker is cleared (``avin status`` does not say
crashed) and the next start does not recover from a crash. Open orders and positions are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.test_tmux import AVIN, TITLES, Tmux, pytestmark, tmux  # noqa: F401

pytestmark = [pytestmark, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

EXIT_WAIT = 15.0  # seconds: the engine stops in ~1 s; a hung process never ends


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def _processes_of(home: Path) -> list[int]:
    """Every avin process still running with this AVIN_HOME (an orphan robot would be one; the
    pane's shell is not)."""
    needle = f"AVIN_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and b"avin" in command and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _status(home: Path) -> dict[str, object]:
    env = {**os.environ, "AVIN_HOME": str(home)}
    out = subprocess.run(
        [str(AVIN), "status", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    return dict(json.loads(out.stdout))


def _assert_stopped_cleanly(pid: int, home: Path) -> None:
    ended = _wait_for(lambda: not _alive(pid), EXIT_WAIT)
    left = _processes_of(home)
    for orphan in left:  # never leave a robot behind, even when the test fails
        os.kill(orphan, signal.SIGKILL)
    assert ended, f"avin (pid {pid}) is still running {EXIT_WAIT:.0f} s after it was told to stop"
    assert left == [], "a process of this avin home is left behind"
    log = (home / "logs" / "avin.log").read_text()
    assert "engine stopped" in log, "the engine did not go through its shutdown"
    status = _status(home)
    assert status.get("running") is False and not status.get("crashed"), status
    assert status.get("positions"), "the open positions were not kept"
    # the next start finds a clean stop: no crash recovery
    env = {**os.environ, "AVIN_HOME": str(home)}
    out = subprocess.run(
        [str(AVIN), "run", "--headless", "--duration", "1", "--speed", "600"],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    assert "did not shut down cleanly" not in out.stderr, out.stderr


def _start_with_quit_dialog(term: Tmux, home: Path) -> int:
    term.send(f"cd {home} && {AVIN} run --speed 600; echo $? > {home / 'rc'}", "Enter")
    term.wait(
        lambda t: (all(x in t for x in TITLES) and "MSK" in t) or "Traceback" in t,
        30,
        "the five panes",
    )
    shell = term.display("#{pane_pid}")
    children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout
    [pid] = [int(child) for child in children.split()]
    assert b"avin" in Path(f"/proc/{pid}/cmdline").read_bytes()
    # the strategies take positions within seconds at this speed; then q asks first
    log = home / "logs" / "avin.log"
    assert _wait_for(lambda: " filled: " in log.read_text(), 60), "no fill within a minute"
    term.send("q")
    term.wait(lambda t: "Quit anyway" in t, 10, "the quit dialog")
    assert _alive(pid)
    return pid


def test_sigterm_with_the_quit_dialog_open_stops_cleanly(tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    pid = _start_with_quit_dialog(tmux, tmp_path)
    os.kill(pid, signal.SIGTERM)
    _assert_stopped_cleanly(pid, tmp_path)
    rc = tmp_path / "rc"
    assert _wait_for(rc.exists, 10) and rc.read_text().strip() == "0"  # a requested stop


def test_sighup_with_the_quit_dialog_open_stops_cleanly(tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    pid = _start_with_quit_dialog(tmux, tmp_path)
    os.kill(pid, signal.SIGHUP)
    _assert_stopped_cleanly(pid, tmp_path)
    rc = tmp_path / "rc"
    assert _wait_for(rc.exists, 10) and rc.read_text().strip() == "0"  # a requested stop


def test_killing_the_tmux_session_stops_cleanly(tmux: Tmux, tmp_path: Path) -> None:  # noqa: F811
    pid = _start_with_quit_dialog(tmux, tmp_path)
    tmux.run("kill-session", "-t", tmux.session)
    _assert_stopped_cleanly(pid, tmp_path)


STUCK_STOP = """
import asyncio, sys
from avin_tui.stop_guard import StopGuard

async def main():
    def on_stop(why, signum, again):  # a stop that never finishes
        print("stop", signum, again, flush=True)
    guard = StopGuard(asyncio.get_running_loop(), on_stop, grace=float(sys.argv[1]), hurry=2.0)
    assert guard.install()
    print("ready", flush=True)
    seen = 0
    while True:  # report each request the guard counted
        if guard.requests != seen:
            seen = guard.requests
            await asyncio.sleep(0)  # the on_stop the handler queued before runs first
            print("requests", seen, flush=True)
        await asyncio.sleep(0.01)

asyncio.run(main())
"""


def _stuck_stop(grace: float) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_STOP, str(grace)], stdout=subprocess.PIPE, text=True, cwd=root
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _signal_and_read(proc: subprocess.Popen[str], signum: int, requests: int) -> list[str]:
    """Send ``signum``, read until the guard has counted ``requests`` (and the stop calls)."""
    assert proc.stdout is not None
    os.kill(proc.pid, signum)
    lines = []
    while f"requests {requests}" not in lines:
        line = proc.stdout.readline()
        assert line, f"the guard exited early after {lines}"
        lines.append(line.strip())
    return lines


def test_a_stuck_stop_is_ended_after_the_grace() -> None:
    """The watchdog ends a stop that hangs once ``grace`` has passed, with 128 + the signal."""
    proc = _stuck_stop(1.0)
    try:
        lines = _signal_and_read(proc, signal.SIGTERM, 1)
        assert f"stop {int(signal.SIGTERM)} False" in lines
        assert proc.wait(30) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_second_sigterm_hurries_a_stuck_stop_and_repeated_hangups_do_not() -> None:
    """Hang-ups repeat by nature (the kernel's SIGHUP, then the shell's): they do not hurry the
    stop. A SIGTERM then does: the process ends long before the 300 s grace, with 128 + SIGHUP
    (the first request)."""
    proc = _stuck_stop(300.0)
    try:
        assert f"stop {int(signal.SIGHUP)} False" in _signal_and_read(proc, signal.SIGHUP, 1)
        assert not any(line.startswith("stop") for line in _signal_and_read(proc, signal.SIGHUP, 2))
        assert f"stop {int(signal.SIGTERM)} True" in _signal_and_read(proc, signal.SIGTERM, 3)
        assert proc.wait(30) == 128 + signal.SIGHUP
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_the_terminal_vanishing_without_a_hangup_ends_avin(tmp_path: Path) -> None:
    """The pty closes under avin and no SIGHUP comes (it is not avin's controlling terminal):
    reads give EOF, writes EIO; avin must notice, stop cleanly and not spin."""
    if not AVIN.exists():
        pytest.skip(f"{AVIN} is missing: install the package (pip install -e .)")
    master, slave = pty.openpty()
    termios.tcsetwinsize(slave, (30, 100))
    env = {**os.environ, "AVIN_HOME": str(tmp_path), "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [str(AVIN), "run", "--speed", "600"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,  # no controlling terminal: closing the pty sends no SIGHUP
    )
    os.close(slave)
    drained = threading.Event()
    closing = threading.Event()

    def drain() -> None:  # read the screen as a terminal would, until told to close
        with contextlib.suppress(OSError):
            while not closing.is_set():
                if select.select([master], [], [], 0.1)[0] and os.read(master, 65536):
                    drained.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        log = tmp_path / "logs" / "avin.log"
        assert _wait_for(lambda: log.exists() and " filled: " in log.read_text(), 60)
        assert drained.is_set(), "avin drew nothing"
        closing.set()
        reader.join(10)
        assert not reader.is_alive()
        os.close(master)  # the terminal goes away (no thread is in a read on it any more)
        master = -1
        try:
            proc.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            cpu = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
            pytest.fail(f"avin still runs {EXIT_WAIT:.0f} s after its terminal closed ({cpu})")
        _assert_stopped_cleanly(proc.pid, tmp_path)
        assert proc.returncode == 0
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
