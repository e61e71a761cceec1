"""``avin run --headless``, ``avin status`` and ``avin config check``, in-process and for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from avin_tui.cli import main

FAST = "6000"  # simulated seconds per real second: 100 minutes per second
REQUIRED = {
    "mode",
    "trading_state",
    "running",
    "pid",
    "recovered",
    "strategies",
    "positions",
    "open_orders",
    "last_event_ts",
}
AVIN = Path(sys.executable).with_name("avin")


def status_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["status", "--json"])
    return code, json.loads(capsys.readouterr().out)


def check_status(data: dict, pid: int | None = None) -> None:
    assert set(data) >= REQUIRED, REQUIRED - set(data)
    assert data["mode"] == "sim" and data["trading_state"] == "ACTIVE"
    assert data["running"] is False and data["recovered"] is False
    assert pid is None or data["pid"] == pid
    assert [s["name"] for s in data["strategies"]] == ["sma_cross"] * 3
    assert data["last_event_ts"].endswith("Z")
    assert all(isinstance(x, dict) for x in data["positions"] + data["open_orders"])
    filled = [o for o in data["orders"] if o["status"] == "filled"]
    assert filled and data["counters"]["fills"] == len(filled)
    assert data["positions"], "the demo always holds a position after its first cross"


def test_status_before_any_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = status_json(capsys)
    assert code == 1 and data["running"] is False and data["ever_run"] is False
    assert main(["status"]) == 1
    assert "no avin engine has run" in capsys.readouterr().err


def test_a_reader_gone_before_the_output_is_no_crash(tmp_path: Path) -> None:
    """``avin status --json | head -c 1``: the pipe's reader may be gone before avin writes (here
    its end is closed before avin starts); avin ends quietly with 141, as a shell reports a
    command ended by SIGPIPE, not with a BrokenPipeError traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [str(AVIN), "status", "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, "AVIN_HOME": str(tmp_path)},
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert done.stderr == ""


def test_headless_run_in_process(avin_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--headless", "--duration", "3", "--speed", FAST, "--seed", "11"])
    assert code == 0
    assert "fills" in capsys.readouterr().out
    log = (avin_home / "logs" / "avin.log").read_text()
    assert " filled: " in log and "fill: MOEX_SHARE_" in log
    code, data = status_json(capsys)
    assert code == 0
    check_status(data, os.getpid())
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "sma_cross:SBER:sim-1" in out and "not running" in out


def test_live_needs_both_the_config_and_the_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AVIN_TOKEN", "t.secret-" + "value-that-never-shows-up-anywhere")
    monkeypatch.setenv("AVIN_MODE", "live")
    assert main(["run", "--headless", "--duration", "1"]) == 3
    err = capsys.readouterr().err
    assert "--live was not given" in err and "secret-value" not in err
    monkeypatch.setenv("AVIN_MODE", "sandbox")
    assert main(["run", "--headless", "--live", "--duration", "1"]) == 3
    err = capsys.readouterr().err
    assert "the configured mode is not live" in err and "secret-value" not in err


def test_config_check(avin_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0
    bad = avin_home / "bad.toml"
    bad.write_text('[sim]\nspeed = -1\n\n[[strategies]]\nname = "sma_cross"\ninstrument = "SBER"\n')
    assert main(["config", "check", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "sim.speed" in err and "->" in err
    bad.write_text(
        '[[strategies]]\nname = "sma_cross"\ninstrument = "SBER"\nparams = {fast = 30}\n'
    )
    assert main(["config", "check", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "strategies #1" in err and "fast (30) must be shorter" in err


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return env


@pytest.mark.slow
def test_headless_run_as_a_real_process(tmp_path: Path) -> None:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    env = _env(tmp_path)
    proc = subprocess.run(
        [str(AVIN), "run", "--headless", "--duration", "3", "--speed", FAST],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = (tmp_path / "logs" / "avin.log").read_text()
    assert " filled: " in log
    status = subprocess.run(
        [str(AVIN), "status", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    check_status(data)
    assert data["pid"] != os.getpid()


def _hangup_default() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _start_headless(env: dict[str, str], log: Path, **popen: object) -> subprocess.Popen[str]:
    """A headless run whose console goes to a file beside its log: a pipe nobody reads fills up
    (64 KiB of log lines at this speed) and then blocks the robot's next write, stop included."""
    console = (log.parent.parent / "console.txt").open("w")
    # the robot as a login shell starts it: SIGHUP at its default, whatever this test inherited
    # (a test run under nohup passes SIGHUP ignored, and the robot rightly keeps it ignored)
    popen.setdefault("preexec_fn", _hangup_default)
    proc = subprocess.Popen(
        [str(AVIN), "run", "--headless", "--speed", FAST],
        env=env,
        stdout=console,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,  # type: ignore[call-overload]
    )
    console.close()
    deadline = time.monotonic() + 30
    while not (log.exists() and "engine started" in log.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            proc.wait()
            text = (log.parent.parent / "console.txt").read_text()
            raise AssertionError(f"the headless run did not start: {text[-2000:]}")
        time.sleep(0.1)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_a_stop_signal_stops_a_headless_run_cleanly(tmp_path: Path, stop: str) -> None:
    """SIGTERM (systemd, kill) and SIGHUP (the SSH session closed) are a clean stop: exit 0, the
    engine stopped, and the next status shows no crash to recover from."""
    env = _env(tmp_path)
    log = tmp_path / "logs" / "avin.log"
    proc = _start_headless(env, log)
    try:
        running = subprocess.run(
            [str(AVIN), "status", "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert json.loads(running.stdout)["running"] is True
        proc.send_signal(getattr(signal, stop))
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "engine stopped" in log.read_text()
    status = subprocess.run(
        [str(AVIN), "status", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    data = json.loads(status.stdout)
    assert data["running"] is False and "crashed" not in data, data


@pytest.mark.slow
def test_a_headless_run_under_nohup_survives_a_hangup(tmp_path: Path) -> None:
    """`nohup avin run --headless &`: the ignored SIGHUP stays ignored, the robot keeps trading."""
    env = _env(tmp_path)
    log = tmp_path / "logs" / "avin.log"

    def ignore_hangup() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = _start_headless(env, log, preexec_fn=ignore_hangup)
    try:
        fills = log.read_text().count(" filled: ")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while log.read_text().count(" filled: ") <= fills:
            assert proc.poll() is None, "the hang-up stopped a run that ignores it"
            assert time.monotonic() < deadline, "no fill after the hang-up"
            time.sleep(0.2)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
