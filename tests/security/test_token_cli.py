"""``avin token set`` (from standard input, never argv), ``check`` against the fake T-Invest server
(valid; refused with the code and the tracking id; the token never printed) and ``clear``."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator

import pytest

from avin_tui.cli import main
from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from engine.paths import homes
from engine.security import token_source
from tests.security.test_token_source import MemoryKeyring
from tests.state.test_chaos import ServerThread
from tests.tinvest.helpers import START

TOKEN = "t.Valid-0123456789abcdefghijABCDEFGHIJ"


@pytest.fixture
def server() -> Iterator[FakeTInvestServer]:
    box = ServerThread()
    box.server = FakeTInvestServer(token=TOKEN, exchange=FakeExchange(start=START, speed=60.0))
    try:
        box.start()
        yield box.server
    finally:
        box.stop()


def _set(monkeypatch: pytest.MonkeyPatch, text: str, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    return main(["token", "set", *args])


def test_set_reads_stdin_into_a_private_file_and_says_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: None)
    assert _set(monkeypatch, TOKEN + "\n") == 0
    out = capsys.readouterr()
    path = homes().config / "token"
    assert f"stored in the config home ({path})" in out.out
    assert TOKEN not in out.out + out.err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == TOKEN + "\n"


def test_set_uses_the_keyring_when_there_is_one_and_file_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ring = MemoryKeyring()
    monkeypatch.setattr(token_source, "keyring_module", lambda: ring)
    assert _set(monkeypatch, TOKEN) == 0
    assert "stored in the keyring" in capsys.readouterr().out
    assert ring.items == {("avin", "token"): TOKEN}
    assert _set(monkeypatch, TOKEN, "--file") == 0
    assert ring.items == {} and (homes().config / "token").exists()


def test_set_refuses_an_empty_token_and_says_what_shadows_a_stored_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: None)
    assert _set(monkeypatch, "\n") == 2
    assert "the token is empty; nothing was stored" in capsys.readouterr().err
    monkeypatch.setenv("AVIN_TOKEN", "t.other")
    assert _set(monkeypatch, TOKEN) == 0
    assert "AVIN_TOKEN come(s) first" in capsys.readouterr().err


def test_set_notes_a_token_that_does_not_look_like_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: None)
    assert _set(monkeypatch, "hello\n") == 0  # stored: the format is the broker's to judge
    err = capsys.readouterr().err
    assert "T-Invest tokens start with 't.'; this one does not" in err
    assert _set(monkeypatch, TOKEN) == 0
    assert "start with" not in capsys.readouterr().err


async def test_check_with_the_broker_unreachable_says_it_could_not_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AVIN_TOKEN", TOKEN)
    code = await asyncio.to_thread(main, ["token", "check", "--target", target])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "could not check the token" in err and "UNAVAILABLE" in err
    assert "not accepted" not in err and TOKEN not in err


def test_the_token_is_never_an_argument() -> None:
    with pytest.raises(SystemExit):
        main(["token", "set", TOKEN])


def test_clear_forgets_what_set_stored(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(token_source, "keyring_module", lambda: None)
    assert main(["token", "clear"]) == 0
    assert "no token was stored" in capsys.readouterr().out
    _set(monkeypatch, TOKEN)
    assert main(["token", "clear"]) == 0
    assert not (homes().config / "token").exists()


def test_check_without_a_token_says_how_to_store_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "check"]) == 2
    assert "avin token set" in capsys.readouterr().err


async def test_check_a_valid_token_names_its_source_never_the_token(
    server: FakeTInvestServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setattr(token_source, "keyring_module", lambda: None)
    _set(monkeypatch, TOKEN)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["token", "check", "--target", server.target])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"the token from the config home ({homes().config / 'token'})" in out.out
    assert f"token valid at {server.target} (sandbox)" in out.out
    assert TOKEN not in out.out + out.err
    assert "UsersService/GetInfo" in server.calls or "GetInfo" in str(server.calls)


async def test_check_a_refused_token_gives_the_code_and_tracking_id_never_the_token(
    server: FakeTInvestServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    wrong = "t.Wrong-0123456789abcdefghijABCDEFGHIJ"
    monkeypatch.setenv("AVIN_TOKEN", wrong)
    code = await asyncio.to_thread(main, ["token", "check", "--target", server.target])
    out = capsys.readouterr()
    assert code == 1
    assert "the token from the environment (AVIN_TOKEN)" in out.out
    tracking = server.errors[-1][2]
    assert "code 40003" in out.err and f"tracking id {tracking}" in out.err, out.err
    assert "missing, invalid or expired" in out.err
    assert wrong not in out.out + out.err and wrong[2:14] not in out.out + out.err


def test_check_with_mode_live_asks_for_live_without_trading_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = homes().config_file
    config.parent.mkdir(parents=True)
    config.write_text('mode = "live"\n')
    monkeypatch.setenv("AVIN_TOKEN", TOKEN)
    assert main(["token", "check"]) == 2
    err = capsys.readouterr().err
    assert "add --live to ask the production host, read-only" in err and TOKEN not in err
