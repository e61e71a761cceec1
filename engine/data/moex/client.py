"""The ISS HTTP client: one JSON block per request, pages through ``start``, retries.

Every request asks for one block (``iss.only=<block>``) without metadata (``iss.meta=off``); the
answer is ``{"<block>": {"columns": [...], "data": [[...], ...]}}``. :meth:`IssClient.table`
returns all rows of a block, following ``start`` until a page is shorter than the page size
(candles: 500 rows) or empty.

Failures: HTTP 5xx, 429, timeouts, dropped connections and answers that are not JSON (a proxy's
error page, a cut transfer, an empty body) are retried with exponential backoff (1, 2, 4, ... s,
jittered; 429 honours ``Retry-After``); after ``attempts`` tries :class:`IssError` says what
happened last. Other HTTP errors and JSON without the asked block are not retried. Requests are
spaced at least ``min_interval`` seconds apart (the public service throttles heavy users).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from engine.data.errors import DownloadError

DEFAULT_BASE_URL = "https://iss.moex.com"
BASE_URL_ENV = "AVIN_MOEX_URL"
CANDLES_PAGE = 500
MAX_ROWS = 5_000_000  # one request series (a chunk of days, a day of trades) never needs more
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_SHOWN = 80  # characters of a bad answer quoted in an error


class IssError(DownloadError):
    """ISS failed for good (after retries), or answered something that is not an ISS table."""


@dataclass(frozen=True, slots=True)
class IssPolicy:
    timeout: float = 30.0  # seconds without an answer per request
    attempts: int = 5  # tries per page for retryable failures
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.2
    min_interval: float = 0.2  # seconds between requests: at most 5 a second
    max_advised_wait: float = 120.0  # cap on a Retry-After

    def delay(self, attempt: int) -> float:
        value = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return value * (1 + self.jitter * random.random())


@dataclass(frozen=True, slots=True)
class Table:
    """One ISS block: its column names and rows (as ISS sent them)."""

    columns: list[str]
    rows: list[list[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def base_url_from_env() -> str:
    return os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


Sleep = Callable[[float], Awaitable[None]]


class IssClient:
    """Async ISS client; use as ``async with IssClient(url) as client``."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        policy: IssPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = (base_url or base_url_from_env()).rstrip("/")
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise IssError(
                f"the ISS URL {self.base_url!r} is not an http(s) URL",
                f"Give --base-url or {BASE_URL_ENV} like {DEFAULT_BASE_URL}",
            )
        self.policy = policy if policy is not None else IssPolicy()
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._client: httpx.AsyncClient | None = None
        self._loopback = (parts.hostname or "") in _LOOPBACK
        self.requests = 0  # HTTP requests sent, retries included
        self.pages = 0  # pages received

    async def __aenter__(self) -> IssClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.policy.timeout),
                headers={"User-Agent": "avin (MOEX shares robot)", "Accept": "application/json"},
                trust_env=not self._loopback,  # loopback never goes through a proxy
                follow_redirects=True,
            )
        return self._client

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def table(
        self,
        path: str,
        block: str,
        params: dict[str, str] | None = None,
        *,
        page_size: int | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> Table:
        """All rows of ``block``; pages through ``start`` when ``page_size`` is given or the
        first page is not empty (the end is a page shorter than ``page_size``, or empty)."""
        columns: list[str] | None = None
        rows: list[list[Any]] = []
        previous: list[list[Any]] = []
        start = 0
        while True:
            query = dict(params or {})
            if start:
                query["start"] = str(start)
            page = await self.page(path, block, query)
            if columns is None:
                columns = page.columns
            elif page.columns != columns and page.rows:
                raise IssError(
                    f"ISS changed the columns of {block!r} between pages of {self.url(path)}",
                    "Run the command again; if it persists the service changed its format",
                )
            if page.rows and page.rows == previous:
                raise IssError(
                    f"ISS sent the same page again for start={start} of {self.url(path)}",
                    "Check the ISS URL (--base-url): the service there ignores paging",
                )
            rows.extend(page.rows)
            previous = page.rows
            if on_page is not None:
                on_page(len(page.rows))
            if not page.rows or (page_size is not None and len(page.rows) < page_size):
                return Table(columns, rows)
            if len(rows) > MAX_ROWS:
                raise IssError(
                    f"ISS sent more than {MAX_ROWS:,} rows for one request series of {path}",
                    "Ask for a shorter range",
                )
            start += len(page.rows)

    async def page(self, path: str, block: str, params: dict[str, str]) -> Table:
        """One request for ``block`` (retried as the module doc says)."""
        query = {"iss.meta": "off", "iss.only": block, **params}
        url = self.url(path)
        failures = 0
        while True:
            try:
                table = await self._attempt(url, block, query)
                self.pages += 1
                return table
            except _Retry as retry:
                failures += 1
                if failures >= self.policy.attempts:
                    raise IssError(
                        f"ISS request {_shown_url(url, query)} failed {failures} times, last: "
                        f"{retry.reason}",
                        "Check the network and the ISS URL (--base-url, "
                        f"{BASE_URL_ENV}) and run the command again; the store keeps only "
                        "whole days",
                    ) from None
                delay = retry.delay if retry.delay is not None else self.policy.delay(failures)
                await self._sleep(delay)

    async def _polite(self) -> None:
        if self._last_request is not None and self.policy.min_interval > 0:
            wait = self._last_request + self.policy.min_interval - self._clock()
            if wait > 0:
                await self._sleep(wait)
        self._last_request = self._clock()

    async def _attempt(self, url: str, block: str, query: dict[str, str]) -> Table:
        await self._polite()
        self.requests += 1
        try:
            response = await self._http().get(url, params=query)
        except httpx.TimeoutException as exc:
            raise _Retry(f"no answer within {self.policy.timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise _Retry(f"connection failed ({exc.__class__.__name__}: {exc})") from exc
        status = response.status_code
        if status == 429:
            raise _Retry("rate limited (HTTP 429)", self._advised_wait(response))
        if status >= 500:
            raise _Retry(f"server error (HTTP {status})")
        if status != 200:
            raise IssError(
                f"ISS answered HTTP {status} to {_shown_url(url, query)}",
                "Check the ticker, the board (--board) and the ISS URL (--base-url)",
            )
        body = response.content
        if not body.strip():
            raise _Retry("an empty answer (HTTP 200 without a body)")
        try:
            data = json.loads(body)
        except ValueError:
            raise _Retry(f"the answer is not JSON: {_quote(body)}") from None
        return _block(data, block, _shown_url(url, query))

    def _advised_wait(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            return min(self.policy.max_advised_wait, max(0.0, float(value)))
        except ValueError:
            return None


def _block(data: Any, block: str, where: str) -> Table:
    """The ``{"columns": [...], "data": [...]}`` of ``block`` in a decoded answer."""
    hint = "Check the ISS URL (--base-url); if it is right the service changed its format"
    found = data.get(block) if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise IssError(f"the ISS answer to {where} has no {block!r} table", hint)
    columns = found.get("columns")
    rows = found.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise IssError(f"the {block!r} table of {where} has no column names", hint)
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and len(row) == len(columns) for row in rows
    ):
        raise IssError(
            f"the {block!r} table of {where} has rows that do not match its {len(columns)} columns",
            hint,
        )
    return Table(list(columns), rows)


def _shown_url(url: str, query: dict[str, str]) -> str:
    shown = {k: v for k, v in query.items() if not k.startswith("iss.")}
    return f"{url}?{urllib.parse.urlencode(shown)}" if shown else url


def _quote(body: bytes) -> str:
    text = body[:_SHOWN].decode("utf-8", errors="replace").replace("\n", " ")
    return repr(text + ("..." if len(body) > _SHOWN else ""))
