"""HTTP client of the T-Invest history archive service (standard library only).

``GET <base_url>?instrumentId=<uid>&year=<YYYY>`` with ``Authorization: Bearer <token>``:
200 is a ZIP, 404 means no data for that year, 401 is a bad token, 429 means rate limited and 5xx
a server failure. Every request passes the rate limiter (30 a minute). 429, 5xx, timeouts, dropped
connections and truncated or corrupt ZIPs are retried with exponential backoff; 429 honours
``Retry-After`` / ``x-ratelimit-reset``. The token is only ever put in the request header (and
is dropped if a redirect leads to another host): no message, exception or log line built here
contains it.
"""

from __future__ import annotations

import http.client
import io
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from engine.data.errors import DownloadError, TokenError
from engine.data.ratelimit import RateLimiter

DEFAULT_BASE_URL = "https://invest-public-api.tinkoff.ru/history-data"
BASE_URL_ENV = "AVIN_HISTORY_URL"
TOKEN_ENV = "AVIN_TOKEN"
REQUESTS_PER_MINUTE = 30
_CHUNK = 256 * 1024
TOKEN_HINT = (
    "Store a valid T-Invest API token with `avin token set` (or put it in the environment "
    f"variable {TOKEN_ENV}; a read-only token is enough), then run the command again"
)

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6  # per archive, for 5xx, timeouts, broken transfers
    rate_limited_attempts: int = 12  # 429 answers tolerated per archive
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.2
    max_advised_wait: float = 120.0  # cap on a server's Retry-After / x-ratelimit-reset

    def delay(self, attempt: int) -> float:
        value = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return value * (1 + self.jitter * random.random())


def configured_token() -> str:
    """The token from ``AVIN_TOKEN`` or ``token`` in avin.toml (registered for redaction)."""
    from engine.config import ConfigError, load_settings
    from engine.model.redact import register_secret

    try:
        secret = load_settings().token
    except ConfigError as exc:
        raise TokenError(str(exc), "fix the configuration (`avin config check`)") from None
    token = "" if secret is None else secret.get_secret_value().strip()
    if not token:
        raise TokenError(
            "no API token: none in AVIN_TOKEN, AVIN_TOKEN_FILE, `avin token set`'s store or "
            "avin.toml",
            TOKEN_HINT,
        )
    register_secret(token)
    return token


def base_url_from_env() -> str:
    return os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
        self.rate_limited = rate_limited


class _NoTokenAcrossHosts(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry the Authorization header to another host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            old_host = urllib.parse.urlsplit(req.full_url).netloc
            if urllib.parse.urlsplit(new.full_url).netloc != old_host:
                new.remove_header("Authorization")
        return new


class HistoryClient:
    """Fetches one archive (instrument, year) at a time."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise TokenError("no API token given", TOKEN_HINT)
        self._token = token
        self.base_url = base_url or base_url_from_env()
        self.timeout = timeout
        self.limiter = limiter if limiter is not None else RateLimiter(REQUESTS_PER_MINUTE, 60.0)
        self.retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        handlers: list[urllib.request.BaseHandler] = [_NoTokenAcrossHosts()]
        if host in ("127.0.0.1", "localhost", "::1"):
            handlers.append(urllib.request.ProxyHandler({}))  # loopback never goes via a proxy
        self._opener = urllib.request.build_opener(*handlers)
        self.requests = 0  # requests sent (for reports and tests)

    def url(self, uid: str, year: int) -> str:
        query = urllib.parse.urlencode({"instrumentId": uid, "year": str(year)})
        separator = "&" if "?" in self.base_url else "?"
        return f"{self.base_url}{separator}{query}"

    def fetch(self, uid: str, year: int, progress: Progress | None = None) -> bytes | None:
        """The archive of ``uid`` for ``year``, or None when the service has no data for it."""
        url = self.url(uid, year)
        failures = 0
        rate_limited = 0
        while True:
            try:
                return self._attempt(url, progress)
            except _Retry as retry:
                if retry.rate_limited:
                    rate_limited += 1
                    if rate_limited >= self.retry.rate_limited_attempts:
                        raise DownloadError(
                            f"{year} archive of {uid}: still rate limited (HTTP 429) after "
                            f"{rate_limited} attempts",
                            "Wait a few minutes and run the command again; finished years are kept",
                        ) from None
                    delay = (
                        retry.delay if retry.delay is not None else self.retry.delay(rate_limited)
                    )
                else:
                    failures += 1
                    if failures >= self.retry.attempts:
                        raise DownloadError(
                            f"{year} archive of {uid} failed {failures} times, last: "
                            f"{retry.reason}",
                            "Check the network and the service URL and run the command again "
                            "(finished years are kept). A persistent HTTP 500 can also mean the "
                            f"token is not accepted: check {TOKEN_ENV}",
                        ) from None
                    delay = self.retry.delay(failures)
                self._sleep(delay)

    def _attempt(self, url: str, progress: Progress | None) -> bytes | None:
        self.limiter.acquire()
        self.requests += 1
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {self._token}", "x-app-name": "avin"}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = _read_body(response, progress)
        except urllib.error.HTTPError as error:
            error.close()
            self._status(error.code, error.headers)
            return None  # 404: no data that year
        except TimeoutError as exc:
            raise _Retry(f"no answer within {self.timeout:g} s") from exc
        except http.client.IncompleteRead as exc:
            raise _Retry(f"transfer cut short ({len(exc.partial)} bytes received)") from exc
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc.__class__.__name__
            raise _Retry(f"connection failed ({reason})") from exc
        if not _is_valid_zip(body):
            raise _Retry(f"the archive is truncated or corrupt ({len(body)} bytes)")
        return body

    def _status(self, status: int, headers: Message | None) -> None:
        """Return for 404 (no data), raise for everything else."""
        if status == 404:
            return
        if status == 401:
            raise TokenError("the history service rejected the API token (HTTP 401)", TOKEN_HINT)
        if status == 429:
            raise _Retry("rate limited (HTTP 429)", _wait_hint(headers), rate_limited=True)
        if status >= 500:
            raise _Retry(f"server error (HTTP {status})")
        raise DownloadError(
            f"the history service answered HTTP {status}",
            "Check the instrument and the service URL (AVIN_HISTORY_URL)",
        )


def _read_body(response: http.client.HTTPResponse, progress: Progress | None) -> bytes:
    length_text = response.headers.get("Content-Length")
    total = int(length_text) if length_text and length_text.isdigit() else None
    buffer = io.BytesIO()
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            break
        buffer.write(chunk)
        if progress is not None:
            progress(buffer.tell(), total)
    if total is not None and buffer.tell() < total:
        raise http.client.IncompleteRead(buffer.getvalue(), total - buffer.tell())
    return buffer.getvalue()


def _wait_hint(headers: Message | None) -> float | None:
    if headers is None:
        return None
    for name in ("Retry-After", "x-ratelimit-reset"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


def _is_valid_zip(body: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, zipfile.LargeZipFile):
        return False
