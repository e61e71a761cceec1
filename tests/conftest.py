"""Every test runs with its own temporary AVIN_HOME and no token. Under CI (``CI`` set and not
"0"/"false") a skipped test is a failed one: a skip there means something was not tested."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The suite runs gRPC servers in its own process and starts commands with ``preexec_fn`` (signal
# dispositions), which makes subprocess fork() instead of vfork(): gRPC's fork handlers then
# restart its poller in the child, whose fds the child closes before exec, and about one child in
# fifty died before exec (-6/-11, "epoll_wait error: Bad file descriptor"; grpc/grpc#43055). Set
# before anything imports grpc; children inherit it.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which refuses skips: {reason}"


@pytest.fixture(autouse=True)
def avin_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("avin_home")
    monkeypatch.setenv("AVIN_HOME", str(home))
    for key in ("AVIN_TOKEN", "AVIN_TOKEN_FILE", "AVIN_TINVEST_TOKEN", "AVIN_MODE"):
        monkeypatch.delenv(key, raising=False)
    # never the developer's OS keyring (a token stored there would be found: docs/security.md)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    # never the public MOEX ISS: a test that forgets its local server meets a closed port
    monkeypatch.setenv("AVIN_MOEX_URL", "http://127.0.0.1:9")
    # the interpreted modules, which coverage sees; tests/backtest/test_native.py runs the
    # compiled backtest core against them
    monkeypatch.setenv("AVIN_NATIVE", "0")
    monkeypatch.delenv("AVIN_NATIVE_WORKER", raising=False)
    return home


@pytest.fixture(autouse=True)
def fake_tinvest_ping_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process fake T-Invest server pings 50 times faster than asked: test clients ask
    for the shortest interval the service allows (5 s) and hear a ping every 0.1 s, the interval
    their watchdog expects (``tests/tinvest/helpers.make_broker``)."""
    from engine.broker.fake_tinvest import FakeTInvestServer

    monkeypatch.setattr(FakeTInvestServer, "ping_scale", 0.02)
    # and its per-minute request limits are those of the tests' RateLimiter(scale=100)
    monkeypatch.setattr(FakeTInvestServer, "limit_scale", 100.0)


@pytest.fixture(autouse=True)
def avin_logger_restored() -> Iterator[None]:
    """A test that runs ``setup_logging`` (level, propagation) leaves the ``avin`` logger as it
    found it: a later test's log capture does not depend on which tests ran before it."""
    import logging

    logger = logging.getLogger("avin")
    level, propagate = logger.level, logger.propagate
    yield
    logger.setLevel(level)
    logger.propagate = propagate
