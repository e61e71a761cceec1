"""The supervisor's edges: a stop while the child runs or while it waits to restart, old crashes
leaving the window, a child that ran long enough resetting the backoff, and the command's
argument handling."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any, ClassVar

import pytest

from avin_tui.cli import supervise as supervise_cmd
from engine.runtime import supervisor
from engine.runtime.supervisor import Supervisor, SupervisorPolicy

CRASH = ["/bin/sh", "-c", "exit 1"]


def test_a_stop_while_the_child_runs_passes_the_signal_and_ends_supervising() -> None:
    sup = Supervisor(["/bin/sh", "-c", "exec sleep 60"], SupervisorPolicy(), sleep=lambda s: None)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(sup.run()))
    thread.start()
    deadline = time.monotonic() + 30
    while sup._child is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sup._child is not None, "the child did not start within 30 s"
    sup.stop()
    thread.join(30)
    assert not thread.is_alive() and result == [0] and sup.starts == 1
    assert sup._child.returncode == -15  # SIGTERM reached it
    sup.stop()  # the child is gone: nothing to signal, no error


def test_a_stop_during_the_backoff_does_not_restart() -> None:
    sup: Supervisor

    def sleep(seconds: float) -> None:
        sup.stop()

    sup = Supervisor(CRASH, SupervisorPolicy(max_crashes=5), sleep=sleep)
    assert sup.run() == 0 and sup.starts == 1


def test_crashes_older_than_the_window_do_not_count_towards_a_loop() -> None:
    delays: list[float] = []
    sup: Supervisor

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 4:
            sup.stop()

    policy = SupervisorPolicy(max_crashes=2, window=1e-9, backoff=0.5, max_backoff=8, stable=1e6)
    sup = Supervisor(CRASH, policy, sleep=sleep)
    assert sup.run() == 0  # 4 crashes, never 2 within the (tiny) window: no crash loop
    assert sup.starts == 4 and len(sup.crashes) == 1
    assert delays == [0.5, 1.0, 2.0, 4.0]  # quick crashes: the backoff doubles


def test_a_child_that_ran_long_enough_resets_the_backoff() -> None:
    delays: list[float] = []
    sup: Supervisor

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 3:
            sup.stop()

    policy = SupervisorPolicy(max_crashes=10, window=60, backoff=0.5, max_backoff=8, stable=0)
    sup = Supervisor(CRASH, policy, sleep=sleep)
    assert sup.run() == 0
    assert delays == [0.5, 0.5, 0.5]


class _FakeSupervisor:
    made: ClassVar[list[Any]] = []

    def __init__(self, command: list[str], policy: SupervisorPolicy) -> None:
        self.command, self.policy = command, policy
        _FakeSupervisor.made.append(self)

    def stop(self, *args: Any) -> None:
        pass

    def run(self) -> int:
        return 0


def _args(rest: list[str], **kw: Any) -> argparse.Namespace:
    values = {"max_crashes": 5, "window": 300.0, "backoff": 1.0, "max_backoff": 60.0}
    values.update(kw)
    return argparse.Namespace(args=rest, **values)


@pytest.fixture
def fake_supervisor(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    _FakeSupervisor.made = []
    monkeypatch.setattr(supervisor, "Supervisor", _FakeSupervisor)
    handlers: list[Any] = []
    monkeypatch.setattr(supervise_cmd.signal, "signal", lambda sig, h: handlers.append(sig))
    return _FakeSupervisor.made


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ([], ["run", "--headless"]),
        (["--"], ["run", "--headless"]),
        (["--", "avin", "run", "--duration", "5"], ["run", "--duration", "5"]),
        (["avin"], ["run", "--headless"]),
        (["status"], ["status"]),
    ],
)
def test_the_supervised_command_is_avin_with_the_given_arguments(
    fake_supervisor: list[Any], rest: list[str], expected: list[str]
) -> None:
    assert supervise_cmd.cmd_supervise(_args(rest, max_crashes=4)) == 0
    (made,) = fake_supervisor
    assert made.command == [*supervise_cmd.avin_command(), *expected]
    assert made.policy.max_crashes == 4


def test_supervise_refuses_itself_and_bad_numbers(
    fake_supervisor: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert supervise_cmd.cmd_supervise(_args(["--", "avin", "supervise"])) == 2
    assert "supervise cannot supervise itself" in capsys.readouterr().err
    for bad in ({"max_crashes": 0}, {"window": 0.0}, {"backoff": -1.0}):
        assert supervise_cmd.cmd_supervise(_args([], **bad)) == 2
        assert "--max-crashes >= 1, --window > 0, --backoff >= 0" in capsys.readouterr().err
    assert fake_supervisor == []


def test_a_frozen_binary_restarts_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervise_cmd.sys, "frozen", True, raising=False)
    assert supervise_cmd.avin_command() == [supervise_cmd.sys.executable]
    monkeypatch.setattr(supervise_cmd.sys, "frozen", False)
    assert supervise_cmd.avin_command()[1:] == ["-m", "avin_tui.cli"]
