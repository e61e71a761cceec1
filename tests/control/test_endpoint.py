"""The control socket's endpoint rules, in process: claimed, private, released, never stolen."""

from __future__ import annotations

import logging
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from engine.control.endpoint import (
    EndpointError,
    claim_socket,
    is_live,
    release_socket,
    socket_id,
)
from engine.control.server import ControlServer, serve_control

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets")


class Idle:
    """An engine nobody calls (the endpoint rules do not touch it)."""


@pytest.fixture
def folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="avin-ep-"))  # short: a socket path holds 107 bytes


def _stale_socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens: as after a SIGKILL


def test_a_stale_socket_is_replaced(folder: Path) -> None:
    path = folder / "control.sock"
    _stale_socket(path)
    assert path.exists() and not is_live(path)
    assert claim_socket(path) is True
    assert not path.exists()
    assert claim_socket(path) is False  # nothing there: nothing to replace


def test_a_live_socket_is_never_taken(folder: Path) -> None:
    path = folder / "control.sock"
    first = ControlServer(Idle(), path)  # type: ignore[arg-type]
    first.start()
    try:
        assert stat.S_IMODE(path.lstat().st_mode) == 0o600
        with pytest.raises(EndpointError, match="another process serves"):
            claim_socket(path)
        with serve_control(Idle(), path) as second:  # type: ignore[arg-type]
            assert second is None  # logged; the first keeps its socket
        assert is_live(path)
    finally:
        first.stop()
    assert not path.exists()


def test_a_file_that_is_not_a_socket_is_left_alone(folder: Path) -> None:
    path = folder / "control.sock"
    path.write_text("mine")
    with pytest.raises(EndpointError, match="not a socket"):
        claim_socket(path)
    assert path.read_text() == "mine"


def test_a_path_too_long_for_a_socket_is_a_clear_error(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = folder / ("x" * 120) / "control.sock"
    with pytest.raises(EndpointError, match="set AVIN_HOME to a shorter folder"):
        claim_socket(path)
    with caplog.at_level(logging.WARNING, "avin.control"), serve_control(Idle(), path) as server:  # type: ignore[arg-type]
        assert server is None
    assert "not serving" in caplog.text


def test_release_removes_only_the_socket_it_bound(folder: Path) -> None:
    path = folder / "control.sock"
    _stale_socket(path)  # another process's socket: not the one this process bound
    mine = socket_id(path)
    assert mine is not None
    release_socket(path, (mine[0], mine[1] + 1))
    assert path.exists()
    release_socket(path, None)  # nothing bound
    assert path.exists()
    release_socket(path, socket_id(path))
    assert not path.exists()
