"""The data service (engine.data.service) and its client (engine.data.remote) against a real
Arrow Flight server on loopback (port 0)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.flight as flight
import pytest

from engine.data.errors import MissingDataError, TokenError
from engine.data.flight_request import MAX_SPAN, TOKEN_ENV, token_path
from engine.data.instruments import InstrumentCache
from engine.data.loading import load_bars
from engine.data.remote import RemoteError, RemoteStore, local_token
from engine.data.schema import BAR_SCHEMA
from engine.data.service import DataService, ServiceSetupError, is_loopback
from engine.data.store import BarStore
from engine.data.synthetic import minute_bars, trading_days
from engine.model import TimeFrame

from .conftest import SBER_UID

TOKEN = "test-token-0123456789abcdef"
CODE = "MOEX_SHARE_SBER"
BEGIN, END = datetime(2022, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def stored() -> BarStore:
    store = BarStore()
    for year in (2022, 2023):
        store.merge(CODE, SBER_UID, minute_bars(trading_days(year, 4), seed=year), "test")
    return store


def _start(service: DataService) -> Iterator[DataService]:
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.shutdown()
        thread.join(timeout=10)
        assert not thread.is_alive()


@pytest.fixture
def server(stored: BarStore) -> Iterator[DataService]:
    yield from _start(DataService(TOKEN))


@pytest.fixture
def remote(server: DataService) -> Iterator[RemoteStore]:
    with RemoteStore(f"127.0.0.1:{server.port}", TOKEN) as client:
        yield client


@pytest.mark.parametrize("tf", ["1M", "5M", "1H", "D", "W", "M"])
def test_bars_equal_the_local_load(remote: RemoteStore, tf: str) -> None:
    got = remote.bars("SBER", tf, BEGIN, END)
    want = load_bars("SBER", tf, BEGIN, END)
    assert got.height > 0
    assert got.schema == want.schema
    assert got.equals(want)


def test_a_range_longer_than_one_request_is_fetched_in_pieces(remote: RemoteStore) -> None:
    assert MAX_SPAN[TimeFrame.M1] < END - BEGIN  # two pieces, one per stored year
    got = remote.bars(CODE, TimeFrame.M1, BEGIN, END)
    assert got.equals(load_bars(CODE, TimeFrame.M1, BEGIN, END))
    assert got["ts"].dt.year().unique().sort().to_list() == [2022, 2023]


def test_no_bars_in_the_range_is_missing_data(remote: RemoteStore) -> None:
    with pytest.raises(MissingDataError, match="no 1H bars of SBER"):
        remote.bars("SBER", "1H", datetime(2021, 1, 1), datetime(2021, 2, 1))


def test_instruments_and_the_stored_listing(remote: RemoteStore, stored: BarStore) -> None:
    def by_code(items: list) -> list:
        return sorted(items, key=lambda item: item.code)

    assert by_code(remote.instruments()) == by_code(InstrumentCache().all())
    assert any(item.code == CODE for item in remote.instruments())
    assert remote.stored() == {CODE: stored.bounds(CODE)}
    assert remote.stored("sber") == {CODE: stored.bounds(CODE)}
    assert remote.stored("MOEX_SHARE_GAZP") == {}


def test_flight_info_tells_rows_and_schema(server: DataService) -> None:
    client = flight.connect(f"grpc://127.0.0.1:{server.port}")
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
    command = json.dumps({"ticker": "SBER", "tf": "D", "from": "2023-01-01", "to": "2024-01-01"})
    info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
    assert info.total_records == load_bars("SBER", "D", BEGIN.replace(year=2023), END).height
    assert info.schema.names == ["ts", "open", "high", "low", "close", "volume"]
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.num_rows == info.total_records


def _raw_calls(client: flight.FlightClient, options: flight.FlightCallOptions) -> list:
    ticket = flight.Ticket(
        b'{"ticker": "SBER", "tf": "1M", "from": "2023-01-01", "to": "2023-02-01"}'
    )
    return [
        lambda: client.do_get(ticket, options).read_all(),
        lambda: list(client.list_flights(b"", options)),
        lambda: list(client.do_action(flight.Action("instruments", b""), options)),
        lambda: client.list_actions(options),
    ]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", TOKEN, "Bearer "])
def test_a_call_without_the_right_token_is_unauthenticated(
    server: DataService, header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    client = flight.connect(f"grpc://127.0.0.1:{server.port}")
    headers = [] if header is None else [(b"authorization", header.encode())]
    options = flight.FlightCallOptions(headers=headers)
    with caplog.at_level(logging.INFO, logger="engine.data.service"):
        for call in _raw_calls(client, options):
            with pytest.raises(
                flight.FlightUnauthenticatedError, match="a valid token is required"
            ):
                call()
    assert "refused a call without the right token" in caplog.text
    assert "wrong-token" not in caplog.text and TOKEN not in caplog.text


def test_the_client_tells_a_refused_token(server: DataService) -> None:
    with (
        RemoteStore(f"127.0.0.1:{server.port}", "not-the-token-at-all") as client,
        pytest.raises(TokenError, match="refused the token") as caught,
    ):
        client.bars("SBER", "1M", BEGIN, END)
    assert "not-the-token" not in caught.value.describe()


def test_the_token_is_never_logged(
    stored: BarStore, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG):
        for service in _start(DataService(TOKEN)):
            with RemoteStore(f"127.0.0.1:{service.port}", TOKEN) as client:
                client.bars("SBER", "1H", BEGIN, END)
                with pytest.raises(MissingDataError):
                    client.bars("SBER", "1H", END, BEGIN.replace(year=2030))
                with pytest.raises(RemoteError):
                    client.bars("MOEX_SHARE_NOPE", "1H", BEGIN, END)
    assert "data service: get 'SBER' 1H 2022-01-01 00:00:00+00:00" in caplog.text
    assert "data service: get refused: no 1H bars of MOEX_SHARE_NOPE" in caplog.text
    captured = capfd.readouterr()
    assert TOKEN not in caplog.text + captured.out + captured.err


BAD = [
    (b"not json", "the request is not JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe", "the request is not JSON"),
    (
        b'{"ticker": "SBER", "tf": "7M", "from": "2023-01-01", "to": "2023-02-01"}',
        "unknown timeframe",
    ),
    (b'{"ticker": "SBER", "from": "2023-01-01", "to": "2023-02-01"}', "unknown timeframe"),
    (b'{"ticker": "SBER", "tf": "1M", "from": "2023-02-01", "to": "2023-01-01"}', "empty range"),
    (
        b'{"ticker": "SBER", "tf": "1M", "from": "2000-01-01", "to": "2023-01-01"}',
        "longer than 366 days",
    ),
    (
        b'{"ticker": "SBER", "tf": "D", "from": "2023-01-01", "to": "9999-12-31"}',
        "outside the years",
    ),
    (
        b'{"ticker": "SBER", "tf": "D", "from": "yesterday", "to": "2023-01-02"}',
        "is not an ISO 8601",
    ),
    (b'{"ticker": "SBER", "tf": "D", "from": 5, "to": "2023-01-02"}', "must be an ISO 8601"),
    (b'{"ticker": "", "tf": "D", "from": "2023-01-01", "to": "2023-01-02"}', '"ticker" must be'),
    (
        b'{"ticker": "SBER", "tf": "D", "from": "2023-01-01", "to": "2023-01-02", "x": 1}',
        "unknown request fields",
    ),
    (
        b'{"ticker": "MOEX_SHARE_NOPE", "tf": "D", "from": "2023-01-01", "to": "2023-02-01"}',
        "nothing is stored for it",
    ),
    (b"{" + b" " * 5000 + b"}", "more than 4096"),
]


@pytest.mark.parametrize(("ticket", "message"), BAD)
def test_bad_requests_get_a_clear_error_and_the_server_lives_on(
    server: DataService, remote: RemoteStore, ticket: bytes, message: str
) -> None:
    client = flight.connect(f"grpc://127.0.0.1:{server.port}")
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
    with pytest.raises(flight.FlightServerError, match="bad request: ") as caught:
        client.do_get(flight.Ticket(ticket), options).read_all()
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
    with pytest.raises(flight.FlightServerError, match=message.replace("(", r"\(")):
        client.get_flight_info(flight.FlightDescriptor.for_command(ticket), options)
    assert remote.bars("SBER", "D", BEGIN, END).height > 0  # still serving


def test_unknown_action_and_path_descriptor_are_bad_requests(server: DataService) -> None:
    client = flight.connect(f"grpc://127.0.0.1:{server.port}")
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
    with pytest.raises(flight.FlightServerError, match="unknown action 'drop'"):
        list(client.do_action(flight.Action("drop", b""), options))
    with pytest.raises(flight.FlightServerError, match="command descriptor"):
        client.get_flight_info(flight.FlightDescriptor.for_path("SBER"), options)


def test_the_client_reports_server_errors_as_data_errors(remote: RemoteStore) -> None:
    with pytest.raises(RemoteError, match="nothing is stored for it"):
        remote.bars("MOEX_SHARE_NOPE", "D", BEGIN, END)
    with pytest.raises(ValueError, match="unknown timeframe"):
        remote.bars("SBER", "7M", BEGIN, END)


def test_an_unreachable_service_is_a_clear_error(tmp_path: Path) -> None:
    with (
        RemoteStore("127.0.0.1:1", TOKEN, timeout=5) as client,
        pytest.raises(RemoteError, match="is not reachable"),
    ):
        client.instruments()


# --- where it may listen --------------------------------------------------------------------


def test_loopback_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "example.com", ""))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_a_public_address_without_tls_is_refused(host: str) -> None:
    with pytest.raises(ServiceSetupError, match=f"refusing to serve on {host} without TLS"):
        DataService(TOKEN, host=host)


def test_tls_needs_cert_and_key_and_a_long_token(tmp_path: Path) -> None:
    with pytest.raises(ServiceSetupError, match="both --tls-cert and --tls-key"):
        DataService(TOKEN, host="0.0.0.0", tls_cert=tmp_path / "c.pem")
    with pytest.raises(ServiceSetupError, match="cannot read the TLS certificate"):
        DataService(TOKEN, host="0.0.0.0", tls_cert=tmp_path / "c", tls_key=tmp_path / "k")
    with pytest.raises(ServiceSetupError, match="at least 16"):
        DataService("short")


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_serves_a_public_address_and_a_client_that_trusts_the_cert(
    stored: BarStore, tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path)
    for service in _start(DataService(TOKEN, host="0.0.0.0", tls_cert=cert, tls_key=key)):
        assert service.endpoint.startswith("grpc+tls://0.0.0.0:")
        with RemoteStore(f"localhost:{service.port}", TOKEN, tls_root_cert=cert) as client:
            assert client.bars("SBER", "1H", BEGIN, END).equals(load_bars("SBER", "1H", BEGIN, END))
        plain = flight.connect(f"grpc://127.0.0.1:{service.port}")
        options = flight.FlightCallOptions(
            headers=[(b"authorization", f"Bearer {TOKEN}".encode())], timeout=5
        )
        with pytest.raises(flight.FlightError):
            list(plain.list_flights(b"", options))  # no clear text on a TLS port


# --- the token of local clients -------------------------------------------------------------


def test_local_token_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert local_token() is None
    token_path().parent.mkdir(parents=True, exist_ok=True)
    token_path().write_text("from-the-file-0123456789\n")
    assert local_token() == "from-the-file-0123456789"
    monkeypatch.setenv(TOKEN_ENV, "from-the-env-0123456789")
    assert local_token() == "from-the-env-0123456789"


def test_frames_survive_the_wire_with_their_types(remote: RemoteStore) -> None:
    got = remote.bars("SBER", "1M", BEGIN.replace(year=2023), END)
    assert got.schema == BAR_SCHEMA
    assert got.schema["ts"] == pl.Datetime("ns", "UTC") and got.schema["volume"] == pl.Int64


def test_ipv6_loopback_and_the_address_clients_write(stored: BarStore) -> None:
    try:
        service = DataService(TOKEN, host="::1")
    except Exception as exc:  # a machine without IPv6 on loopback
        pytest.skip(f"no IPv6 loopback: {exc}")
    for running in _start(service):
        assert running.client_address == f"[::1]:{running.port}"
        with RemoteStore(running.client_address, TOKEN) as client:
            assert client.bars("SBER", "D", BEGIN, END).equals(load_bars("SBER", "D", BEGIN, END))


def test_several_clients_at_once_get_the_same_bars(
    remote: RemoteStore, server: DataService
) -> None:
    wanted = {tf: load_bars("SBER", tf, BEGIN, END) for tf in ("1M", "15M", "4H", "W")}
    failures: list[str] = []

    def client(tf: str) -> None:
        with RemoteStore(f"127.0.0.1:{server.port}", TOKEN) as own:
            for _ in range(5):
                if not own.bars("SBER", tf, BEGIN, END).equals(wanted[tf]):
                    failures.append(tf)

    threads = [threading.Thread(target=client, args=(tf,)) for tf in wanted for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def test_a_damaged_store_file_is_a_server_error_and_the_server_lives_on(
    remote: RemoteStore, stored: BarStore, caplog: pytest.LogCaptureFixture
) -> None:
    from engine.data.loading import clear_cache

    clear_cache()
    stored.year_path(CODE, 2022).write_bytes(b"PAR1 this is not parquet")
    with caplog.at_level(logging.INFO, logger="engine.data.service"):
        with pytest.raises(RemoteError, match="the data service failed") as caught:
            remote.bars("SBER", "1H", BEGIN, END)
        assert "bad request" not in caught.value.describe()
        assert "Traceback" not in caught.value.describe()
        got = remote.bars(
            "SBER", "1H", BEGIN.replace(year=2023), END
        )  # the other year still served
    assert got.equals(load_bars("SBER", "1H", BEGIN.replace(year=2023), END))
    assert "data service: get" in caplog.text and "failed" in caplog.text
