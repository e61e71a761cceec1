"""The server of ``avin web``: textual-serve's aiohttp application behind an access token.

textual-serve serves a page (``/``), its static files (``/static``) and one websocket per browser
session (``/ws``) that runs the session command in a child process. Nothing of that is changed:
:class:`TokenServer` adds an aiohttp middleware in front of every route, sets security headers on
every response (``on_response_prepare``), closes the sessions when it stops, and ends a session
whose app ended on its own.

The token reaches the server once, in the address ``avin web`` prints (``/?token=...``): the
answer is a redirect to the same address without it and an HttpOnly, SameSite=Strict cookie
that every later request (the page, the static files, the websocket) carries. No cookie: 401; a
wrong token or cookie: 403. The websocket is also refused (403) when the browser says it was
opened by a page of another origin. The token is never logged (there is no access log at all).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import ssl
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, web
from textual_serve.server import Server

log = logging.getLogger("avin.web")

TOKEN_PARAM = "token"
COOKIE = "avin_web"
_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # the page holds a kill switch: no other site may frame it
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
SHUTDOWN_SECONDS = 10.0  # a session child that ignores the request to quit is cancelled then

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _same(given: str, expected: bytes) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def _refused(request: web.Request, why: str) -> None:
    log.warning(
        "avin web: refused %s %s from %s: %s", request.method, request.path, request.remote, why
    )


def token_middleware(token: str, *, secure: bool) -> Any:
    """The middleware that lets through only requests carrying ``token`` (see the module doc)."""
    expected = token.encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.query.get(TOKEN_PARAM)
        if given is not None:
            if not _same(given, expected):
                _refused(request, "a wrong token")
                raise web.HTTPForbidden(text="avin web: wrong access token\n")
            query = request.rel_url.query.copy()
            query.popall(TOKEN_PARAM)
            # one leading slash: never "//host", which a browser reads as another site
            location = "/" + str(request.rel_url.with_query(query)).lstrip("/")
            response = web.Response(status=303, headers={"Location": location})
            response.set_cookie(
                COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/"
            )
            return response
        cookie = request.cookies.get(COOKIE)
        if cookie is None:
            _refused(request, "no access token")
            raise web.HTTPUnauthorized(
                text="avin web: open the address `avin web` printed (it carries the access token)\n"
            )
        if not _same(cookie, expected):
            _refused(request, "a wrong token")
            raise web.HTTPForbidden(
                text="avin web: this browser holds an old access token; open the address "
                "`avin web` printed\n"
            )
        if not _same_origin(request):
            _refused(request, "opened by a page of another site")
            raise web.HTTPForbidden(text="avin web: a request from another site\n")
        return await handler(request)

    return check


class TokenServer(Server):
    """textual-serve's server with the token check; :func:`serve` runs it."""

    def __init__(self, command: str, token: str, *, tls: bool, title: str = "avin") -> None:
        super().__init__(command, title=title)
        self.token = token
        self.tls = tls
        self.sessions: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(token_middleware(self.token, secure=self.tls))
        app.on_response_prepare.append(self._on_prepare)
        app.on_shutdown.append(self._close_sessions)
        return app

    async def _on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        if isinstance(response, web.WebSocketResponse):
            self.sessions.add(response)

    async def _close_sessions(self, app: web.Application) -> None:
        """Stopping: every browser session's websocket is closed, so its child is asked to quit."""
        for websocket in list(self.sessions):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"avin web stopped")

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: Any) -> None:
        """textual-serve's loop over the browser's messages, ended also when the session's child
        ends on its own: one that fails to start (``avin attach`` without a robot) or crashes
        sends no "exit", and the tab would wait on a silent websocket forever. Closed, the page
        shows "Session ended" and its Restart button."""
        browser = asyncio.ensure_future(super()._process_messages(websocket, app_service))
        child = getattr(app_service, "_task", None)  # reads the child's output until it ends
        if not isinstance(child, asyncio.Future):
            await browser
            return
        await asyncio.wait({browser, child}, return_when=asyncio.FIRST_COMPLETED)
        if not browser.done() and not websocket.closed:  # (an app that quits closed it)
            log.warning("avin web: a session's app ended (its output is above)")
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"the session ended")
        await browser

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its banner and address here; ``avin web`` prints its own."""

    async def handle_index(self, request: web.Request) -> Any:
        # the page's websocket and static addresses are built from public_url: the address the
        # browser used (an SSH tunnel's local port, localhost or 127.0.0.1), so its cookie goes
        # with them. Nothing is awaited between setting it and textual-serve reading it.
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)


class PortTaken(OSError):
    """The address to listen on is in use (or cannot be bound)."""


async def serve(
    server: TokenServer,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    on_listening: Callable[[int], None],
    stop: asyncio.Event,
) -> None:
    """Listen on ``host:port`` (0: any free port), call ``on_listening(port)``, serve until
    ``stop`` is set, then close every session."""
    app = await server._make_app()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            raise PortTaken(exc.errno, exc.strerror) from None
        bound = runner.addresses[0][1]
        on_listening(int(bound))
        await stop.wait()
    finally:
        await runner.cleanup()  # closes every session: its child is asked to quit
        await _children_ended(SHUTDOWN_SECONDS)


async def _children_ended(timeout: float) -> bool:
    """Wait, the loop still running, until no child process (a session's) is left, so that the
    loop that started each one also sees it end; False after ``timeout``."""
    if not hasattr(os, "waitid"):  # Windows
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:  # WNOWAIT: only looks; asyncio's own watcher reaps the child
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # none left
            await asyncio.sleep(0.05)  # the watcher's callback for the last one, queued now
            return True
        await asyncio.sleep(0.05)
    return False


__all__ = ["COOKIE", "TOKEN_PARAM", "PortTaken", "TokenServer", "serve", "token_middleware"]
