"""Headless Chromium (Debian's ``chromium`` package) driven over its DevTools protocol, for the
``avin web`` tests: start it with a fresh profile, open a page, read the terminal's text, press
keys, take a screenshot.

The page draws the terminal (xterm.js) on a canvas, so its text is not in the DOM. A script that
runs before the page's own records the xterm.js ``Terminal`` objects textual-serve creates (it
assigns them to a ``terminal`` property), and :meth:`Page.screen_text` reads the rows of the
active buffer through xterm.js's public API: the characters the browser shows.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # a container's small /dev/shm crashes the renderer
    "--no-proxy-server",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

# textual-serve does `this.terminal = new Terminal(...)`: a setter on Object.prototype sees it
# (and then gives the object its own plain property, so the page works as before)
CAPTURE_TERMINALS = """
window.__avinTerminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer && value.buffer.active) window.__avinTerminals.push(value);
  },
});
"""
SCREEN_TEXT = """
(() => {
  const terminal = window.__avinTerminals[0];
  if (!terminal) return null;
  const buffer = terminal.buffer.active;
  const rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()
"""


class Page:
    """One page target's DevTools session: commands and their answers (events are dropped)."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        await self._socket.send_str(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = await asyncio.wait_for(self._socket.receive(), timeout=30)
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"DevTools closed the session ({message.type.name})")
            answer = json.loads(message.data)
            if answer.get("id") != number:
                continue  # an event, or the answer to nothing we wait for
            if "error" in answer:
                raise AssertionError(f"DevTools {method}: {answer['error']}")
            return dict(answer.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screen_text(self) -> str:
        return str(await self.evaluate(SCREEN_TEXT) or "")

    async def wait_screen(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.screen_text()
            if predicate(text):
                return text
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the page showed:\n{text}")

    async def press_ctrl(self, letter: str) -> None:
        """ctrl+LETTER as a keyboard would type it (down, then up), to the focused element."""
        code = ord(letter.upper())
        key = {
            "key": letter,
            "code": f"Key{letter.upper()}",
            "windowsVirtualKeyCode": code,
            "nativeVirtualKeyCode": code,
            "modifiers": 2,  # ctrl
        }
        await self.call("Input.dispatchKeyEvent", type="rawKeyDown", **key)
        await self.call("Input.dispatchKeyEvent", type="keyUp", **key)

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
        path.write_bytes(data)
        return data


class Chromium:
    """A headless Chromium with its own profile folder, stopped (and reaped) on exit."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 800) -> None:
        self.profile = profile
        self.size = (width, height)
        self.log = profile.parent / "chromium.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> int:
        """Start it; its DevTools port (Chromium writes it to DevToolsActivePort)."""
        self.profile.mkdir(parents=True, exist_ok=True)
        width, height = self.size
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(CHROMIUM),
                    *FLAGS,
                    f"--user-data-dir={self.profile}",
                    f"--window-size={width},{height}",
                    "about:blank",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "HOME": str(self.profile)},
            )
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            lines = marker.read_text().splitlines() if marker.exists() else []
            if lines and lines[0].isdigit():
                return int(lines[0])
            time.sleep(0.05)
        raise AssertionError(
            f"chromium did not open its DevTools port (exit {self.process.poll()}):\n"
            + self.log.read_text(errors="replace")[-3000:]
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


@contextlib.asynccontextmanager
async def open_page(port: int) -> AsyncIterator[Page]:
    """The first page target of the Chromium on ``port``, with the terminal capture installed."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t.get("type") == "page")
        async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket:
            devtools = Page(socket)
            await devtools.call("Page.enable")
            await devtools.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE_TERMINALS)
            yield devtools
