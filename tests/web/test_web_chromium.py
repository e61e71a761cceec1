"""End to end in a real browser: a headless robot (``avin run --headless`` on the simulated
market) and ``avin web`` on its home, opened in headless Chromium (Debian's ``chromium``, which
.ci/run installs). The page shows the terminal app attached to the robot, five panes with live
data; the kill key pressed in the page halts the robot (HALTED, its resting orders cancelled);
stopping ``avin web`` detaches the session and the robot runs on. The address without its token
is refused. The screenshots are left in the test's tmp_path (avin-web.png, avin-web-halted.png).

Without /usr/bin/chromium the test is skipped with the reason; under CI (tests/conftest.py) a skip
is a failure, so CI cannot pass without running it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.test_control_robot import AVIN as AVIN_SCRIPT
from tests.control.test_control_robot import WAIT, Robot, wait_for
from tests.web.chromium import CHROMIUM, Chromium, open_page

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets"),
]

AVIN = [sys.executable, "-m", "avin_tui.cli"]
TITLES = ("Strategies", "Orders", "Positions", "Log", "Chart")
WINDOW = (1280, 800)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return env


def _status(home: Path) -> dict[str, object]:
    done = subprocess.run(
        [*AVIN, "status", "--json"], env=_env(home), capture_output=True, text=True, timeout=60
    )
    return dict(json.loads(done.stdout))


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    browser = Chromium(tmp_path / "chromium-profile", *WINDOW)
    try:
        yield browser
    finally:
        browser.stop()


@pytest.fixture
def robot() -> Iterator[Robot]:
    """A headless robot with two resting orders (the control tests' probe strategy)."""
    assert AVIN_SCRIPT.exists(), "run `.venv/bin/pip install -e .` first"
    robot = Robot(Path(tempfile.mkdtemp(prefix="avin-web-")))  # short: a socket path <= 107 B
    robot.start()
    try:
        with robot.client() as client:
            wait_for("the two resting orders", lambda: len(client.status()["open_orders"]) == 2)
        yield robot
    finally:
        if robot.proc is not None and robot.proc.poll() is None:
            robot.stop()


@pytest.fixture
def web(robot: Robot) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``avin web`` on a free port of the robot's home: each browser session is ``avin attach``."""
    with (robot.home / "web.log").open("w") as log:
        process = subprocess.Popen(
            [*AVIN, "web", "--port", "0"],
            env=robot.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url_file = robot.home / "state" / "web.url"
    try:
        _wait(lambda: url_file.exists() or process.poll() is not None, WAIT, "web.url")
        assert process.poll() is None, (robot.home / "web.log").read_text()
        yield process, url_file.read_text(encoding="utf-8").strip()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT)


async def test_the_app_in_chromium_shows_the_panes_and_the_kill_key_halts(
    chromium: Chromium, web: tuple[subprocess.Popen[str], str], robot: Robot, tmp_path: Path
) -> None:
    process, url = web
    pid = robot.proc.pid  # type: ignore[union-attr]
    base = url.split("/?token=")[0]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(base + "/", timeout=10)
    assert refused.value.code == 401

    port = chromium.start()
    async with open_page(port) as page:
        width, height = WINDOW
        await page.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        await page.call("Page.navigate", url=url)
        screen = await page.wait_screen(
            lambda text: all(title in text for title in TITLES) and "ACTIVE" in text,
            WAIT,
            "the five panes with the live robot",
        )
        assert "Traceback" not in screen, screen
        assert await page.evaluate("location.search") == ""  # the token left the address bar
        shot = await page.screenshot(tmp_path / "avin-web.png")
        assert _png_size(shot) == WINDOW and len(shot) > 20_000  # drawn, not a blank page

        await page.evaluate("window.__avinTerminals[0].focus()")
        await page.press_ctrl("k")
        with robot.client() as client:
            status = wait_for(
                "HALTED with the cancels", lambda: (s := client.status())["open_orders"] == [] and s
            )
        assert status["trading_state"] == "HALTED" and status["halt_reason"] == "manual: keyboard"
        assert "HALTED" in robot.avin("status").stdout
        await page.wait_screen(lambda text: "TRADING HALTED" in text, WAIT, "the halt on the page")
        await page.screenshot(tmp_path / "avin-web-halted.png")

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT) == 0
    log = (robot.home / "web.log").read_text()
    assert "avin web: stopped" in log and "Traceback" not in log
    assert url.split("token=")[1] not in log
    # the session detached: the robot runs on, the same process
    with robot.client() as client:
        status = client.status()
    assert status["pid"] == pid and status["running"]
    assert robot.stop() == 0
