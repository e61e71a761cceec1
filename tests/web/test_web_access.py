"""``avin web``'s access token: every route of textual-serve's app (the page, its static files, the
websocket, downloads, an unknown path) refuses a request without it; the token in the address
becomes an HttpOnly cookie and leaves the address; a websocket opened by another site's page is
refused. In process, against the same aiohttp application ``avin web`` serves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from avin_tui.cli.web_server import COOKIE, TokenServer

TOKEN = "a-test-token-of-43-characters-like-secrets-"
ROUTES = ("/", "/ws", "/static/js/textual.js", "/download/some-key", "/no-such-page")
WS_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    # the session command is never run here: no test opens a websocket with the token
    server = TokenServer("false", TOKEN, tls=False)
    app = await server._make_app()
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ROUTES)
async def test_no_token_is_401_on_every_route(client: TestClient, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 401
    assert "open the address `avin web` printed" in await response.text()


@pytest.mark.parametrize("path", ROUTES)
async def test_a_wrong_token_is_403(client: TestClient, path: str) -> None:
    response = await client.get(path, params={"token": TOKEN[:-1]}, allow_redirects=False)
    assert response.status == 403
    response = await client.get(
        path, headers={"Cookie": f"{COOKIE}={TOKEN[:-1]}x"}, allow_redirects=False
    )
    assert response.status == 403


async def test_the_token_becomes_a_cookie_and_leaves_the_address(client: TestClient) -> None:
    response = await client.get(
        "/", params={"token": TOKEN, "fontsize": "20"}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/?fontsize=20"
    cookie = response.cookies[COOKIE]
    assert cookie.value == TOKEN
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"]  # plain http on loopback; TLS sets it (next test)

    page = await client.get("/", allow_redirects=False)  # the client's jar holds the cookie now
    assert page.status == 200
    body = await page.text()
    assert TOKEN not in body
    assert f'data-session-websocket-url="ws://{page.url.host}:{page.url.port}/ws"' in body
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    script = await client.get("/static/js/textual.js")
    assert script.status == 200


async def test_the_cookie_is_secure_under_tls() -> None:
    server = TokenServer("false", TOKEN, tls=True)
    async with TestClient(TestServer(await server._make_app())) as tls_client:
        response = await tls_client.get("/", params={"token": TOKEN}, allow_redirects=False)
        assert response.cookies[COOKIE]["secure"]


async def test_a_redirect_never_leaves_the_site(client: TestClient) -> None:
    root = str(client.make_url("/")).rstrip("/")
    url = URL(f"{root}//evil.example/?token={TOKEN}", encoded=True)
    assert url.path == "//evil.example/"
    response = await client.session.get(url, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/evil.example/"


async def test_a_websocket_from_another_sites_page_is_refused(client: TestClient) -> None:
    headers = {**WS_HEADERS, "Cookie": f"{COOKIE}={TOKEN}", "Origin": "http://evil.example"}
    response = await client.get("/ws", headers=headers, allow_redirects=False)
    assert response.status == 403


async def test_a_refusal_logs_no_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="avin.web")
    await client.get("/", params={"token": TOKEN + "x"}, allow_redirects=False)
    await client.get("/", headers={"Cookie": f"{COOKIE}={TOKEN}x"}, allow_redirects=False)
    assert "refused GET /" in caplog.text
    assert TOKEN not in caplog.text


async def test_a_session_whose_app_ends_is_closed(client: TestClient) -> None:
    """The session command (here ``false``) ends without starting an app, as ``avin attach`` does
    without a robot: the websocket is closed, so the page says "Session ended"."""
    await client.get("/", params={"token": TOKEN}, allow_redirects=False)  # the cookie
    origin = str(client.make_url("/")).rstrip("/")
    async with client.ws_connect("/ws?width=80&height=24", headers={"Origin": origin}) as socket:
        message = await asyncio.wait_for(socket.receive(), timeout=60)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
