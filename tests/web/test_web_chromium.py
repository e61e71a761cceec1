"""End to end in a real browser: ``avin web`` opened in headless Chromium (Debian's ``chromium``,
which .ci/run installs) shows the terminal app's five panes with live data, and the kill key
pressed in the page halts the robot (``avin status`` says HALTED). The address without its token
is refused. The screenshots are left in the test's tmp_path (avin-web.png, avin-web-halted.png).

Without /usr/bin/chromium the test is skipped with the reason; under CI (tests/conftest.py) a skip
is a failure, so CI cannot pass without running it.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.chromium import CHROMIUM, Chromium, open_page

pytestmark = pytest.mark.e2e

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
def web(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``avin web`` on a free port; each browser session runs the app with its own simulated
    robot (``avin run``) on this home."""
    session = f"{sys.executable} -m avin_tui.cli run --speed 300"
    with (tmp_path / "web.log").open("w") as log:
        process = subprocess.Popen(
            [*AVIN, "web", "--port", "0", "--command", session],
            env=_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url_file = tmp_path / "state" / "web.url"
    try:
        _wait(lambda: url_file.exists() or process.poll() is not None, 60, "web.url")
        assert process.poll() is None, (tmp_path / "web.log").read_text()
        yield process, url_file.read_text(encoding="utf-8").strip()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


async def test_the_app_in_chromium_shows_the_panes_and_the_kill_key_halts(
    chromium: Chromium, web: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    process, url = web
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
            90,
            "the five panes with a live robot",
        )
        assert "Traceback" not in screen
        assert await page.evaluate("location.search") == ""  # the token left the address bar
        shot = await page.screenshot(tmp_path / "avin-web.png")
        assert _png_size(shot) == WINDOW and len(shot) > 20_000  # drawn, not a blank page

        await page.evaluate("window.__avinTerminals[0].focus()")
        await page.press_ctrl("k")
        _wait(lambda: _status(tmp_path).get("trading_state") == "HALTED", 30, "HALTED")
        status = _status(tmp_path)
        assert status["source"] == "control" and status["halt_reason"] == "manual: keyboard"
        await page.wait_screen(lambda text: "TRADING HALTED" in text, 30, "the halt on the page")
        await page.screenshot(tmp_path / "avin-web-halted.png")

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    log = (tmp_path / "web.log").read_text()
    assert "avin web: stopped" in log and "Traceback" not in log
    assert url.split("token=")[1] not in log
    # the session's app quit with the server: its robot stopped and removed its socket
    _wait(lambda: not (tmp_path / "state" / "control.sock").exists(), 30, "the robot to stop")
