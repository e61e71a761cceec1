"""Downloads against a local history server on 127.0.0.1 with injected faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.data.download import download
from engine.data.errors import DownloadError, TokenError
from engine.data.history_client import HistoryClient, RetryPolicy
from engine.data.ratelimit import RateLimiter
from engine.data.store import BarStore
from engine.paths import homes

from .conftest import GAZP_UID, SBER_UID, HistoryServer

TOKEN = "good-token-123"
TODAY = datetime(2026, 6, 1, tzinfo=UTC)
FAST = RetryPolicy(attempts=5, rate_limited_attempts=4, base_delay=0.001, max_delay=0.01)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_for(server: HistoryServer, token: str = TOKEN, **kwargs: object) -> HistoryClient:
    options: dict[str, object] = {
        "base_url": server.base_url,
        "retry": FAST,
        "timeout": 5.0,
        "limiter": RateLimiter(1000, 60.0),
    }
    options.update(kwargs)
    return HistoryClient(token, **options)  # type: ignore[arg-type]


def test_years_are_downloaded_imported_and_recorded(history_server: HistoryServer) -> None:
    history_server.no_data.add((SBER_UID, 2021))
    report = download(["SBER"], 2021, to_year=2023, client=client_for(history_server), today=TODAY)
    assert report.ok, report
    assert [(y.year, y.status) for y in report.years] == [
        (2021, "no-data"),
        (2022, "downloaded"),
        (2023, "downloaded"),
    ]
    store = BarStore()
    assert store.years("MOEX_SHARE_SBER") == [2022, 2023]
    state = json.loads((homes().data / "downloads/MOEX_SHARE_SBER/state.json").read_text())
    assert state["years"] == {"2021": "no-data", "2022": "imported", "2023": "imported"}
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in history_server.requests)


def test_faults_are_retried(history_server: HistoryServer) -> None:
    history_server.plan[(SBER_UID, 2022)] = [
        ("status", 429, {"Retry-After": "0"}),
        ("status", 500),
        ("truncate",),
        ("corrupt",),
        ("status", 503),
    ]
    report = download(["SBER"], 2022, to_year=2022, client=client_for(history_server), today=TODAY)
    assert report.ok, report
    assert history_server.count(SBER_UID, 2022) == 6
    assert BarStore().years("MOEX_SHARE_SBER") == [2022]


def test_a_slow_answer_times_out_and_is_retried(history_server: HistoryServer) -> None:
    history_server.plan[(SBER_UID, 2022)] = [("slow", 1.5)]
    client = client_for(history_server, timeout=0.5)
    report = download(["SBER"], 2022, to_year=2022, client=client, today=TODAY)
    assert report.ok
    assert history_server.count(SBER_UID, 2022) == 2


def test_persistent_failure_fails_that_year_only(history_server: HistoryServer) -> None:
    history_server.plan[(SBER_UID, 2022)] = [("status", 500)] * 10
    report = download(["SBER"], 2022, to_year=2023, client=client_for(history_server), today=TODAY)
    assert not report.ok
    statuses = {y.year: y.status for y in report.years}
    assert statuses == {2022: "failed", 2023: "downloaded"}
    failed = next(y for y in report.years if y.status == "failed")
    assert "HTTP 500" in failed.message and "AVIN_TOKEN" in failed.message
    assert history_server.count(SBER_UID, 2022) == FAST.attempts


def test_resume_skips_finished_years(history_server: HistoryServer) -> None:
    history_server.plan[(SBER_UID, 2023)] = [("status", 500)] * FAST.attempts
    first = download(["SBER"], 2021, to_year=2023, client=client_for(history_server), today=TODAY)
    assert [y.status for y in first.years] == ["downloaded", "downloaded", "failed"]
    requests = len(history_server.requests)
    again = download(["SBER"], 2021, to_year=2023, client=client_for(history_server), today=TODAY)
    assert [y.status for y in again.years] == ["skipped", "skipped", "downloaded"]
    assert len(history_server.requests) == requests + 1


def test_a_downloaded_but_unimported_zip_is_not_fetched_again(
    history_server: HistoryServer,
) -> None:
    folder = homes().data / "downloads" / "MOEX_SHARE_SBER"
    folder.mkdir(parents=True)
    (folder / "2022.zip").write_bytes(history_server.archive(SBER_UID, 2022))
    report = download(["SBER"], 2022, to_year=2022, client=client_for(history_server), today=TODAY)
    assert [y.status for y in report.years] == ["imported-local"]
    assert history_server.requests == []
    assert BarStore().years("MOEX_SHARE_SBER") == [2022]


def test_the_current_year_is_always_fetched_again(history_server: HistoryServer) -> None:
    client = client_for(history_server)
    download(["SBER"], 2026, client=client, today=TODAY)
    download(["SBER"], 2026, client=client, today=TODAY)
    assert history_server.count(SBER_UID, 2026) == 2


def test_bad_token_is_a_clear_error_without_the_token(history_server: HistoryServer) -> None:
    secret = "s3cr3t-token-value"
    with pytest.raises(TokenError) as info:
        download(
            ["SBER"], 2022, to_year=2022, client=client_for(history_server, secret), today=TODAY
        )
    text = info.value.describe()
    assert "401" in text and "AVIN_TOKEN" in text and secret not in text


def test_rate_limit_30_per_minute(history_server: HistoryServer) -> None:
    clock = FakeClock()
    limiter = RateLimiter(30, 60.0, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    real_acquire = limiter.acquire

    def acquire() -> float:
        waited = real_acquire()
        sent.append(clock.now)
        return waited

    limiter.acquire = acquire  # type: ignore[method-assign]
    history_server.days = 1
    client = client_for(history_server, limiter=limiter)
    report = download(["SBER", "GAZP"], 2006, to_year=2022, client=client, today=TODAY)
    assert report.ok and len(sent) == 34
    for i, moment in enumerate(sent):
        window = [t for t in sent[: i + 1] if moment - t < 60.0]
        assert len(window) <= 30
    assert clock.now >= 60.0
    assert history_server.count(GAZP_UID, 2022) == 1


def test_rate_limiter_alone() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(7)]
    assert waits == [0, 0, 0, 10.0, 0, 0, 10.0]


def test_429_honours_retry_after(history_server: HistoryServer) -> None:
    slept: list[float] = []
    history_server.plan[(SBER_UID, 2022)] = [("status", 429, {"Retry-After": "7"})]
    client = client_for(history_server, sleep=slept.append)
    assert client.fetch(SBER_UID, 2022) is not None
    assert slept == [7.0]


def test_unreachable_server_is_a_download_error(tmp_path: Path) -> None:
    client = HistoryClient(
        TOKEN, base_url="http://127.0.0.1:9/history-data", retry=FAST, timeout=1.0
    )
    with pytest.raises(DownloadError, match="connection failed"):
        client.fetch(SBER_UID, 2022)


def test_unknown_ticker_is_reported_and_the_rest_downloads(history_server: HistoryServer) -> None:
    report = download(
        ["NOPE", "SBER"], 2022, to_year=2022, client=client_for(history_server), today=TODAY
    )
    assert len(report.errors) == 1 and "NOPE" in report.errors[0]
    assert [y.status for y in report.years] == ["downloaded"]


def test_year_state_belongs_to_one_uid(history_server: HistoryServer) -> None:
    from engine.data.download import YearState

    folder = homes().data / "downloads" / "MOEX_SHARE_SBER"
    YearState(folder, "old-uid").set(2020, "no-data")
    assert YearState(folder, "old-uid").get(2020) == "no-data"
    assert YearState(folder, SBER_UID).get(2020) is None  # a new uid starts afresh


def test_a_redirect_to_another_host_does_not_carry_the_token(
    history_server: HistoryServer,
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []
    body = history_server.archive(SBER_UID, 2022)

    class Storage(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    storage = ThreadingHTTPServer(("127.0.0.1", 0), Storage)
    threading.Thread(target=storage.serve_forever, args=(0.05,), daemon=True).start()
    try:
        # "localhost" vs "127.0.0.1": another host name for the same machine
        target = f"http://localhost:{storage.server_address[1]}/archive.zip"
        history_server.plan[(SBER_UID, 2022)] = [("redirect", target)]
        assert client_for(history_server).fetch(SBER_UID, 2022) == body
    finally:
        storage.shutdown()
        storage.server_close()
    assert seen == [None]
