"""Local service endpoints: a unix domain socket in the state home, private to its user.

Generic on purpose (any service a robot or a data server offers on this host):
:func:`socket_path` names it, :func:`claim_socket` makes the path free for a new server
(a socket left by a killed process is replaced; one a live process serves is never taken),
:func:`make_private` sets mode 0600 and :func:`release_socket` removes it on a clean stop.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from pathlib import Path

CONTROL_SOCKET = "control.sock"
# sockaddr_un.sun_path holds 108 bytes on Linux (104 on macOS), the final NUL included
MAX_SOCKET_PATH = 103
# clients ping this often (milliseconds) and give up after as long without an answer: a robot
# hung with its socket open ends a watch as one that went away does; servers take these pings
KEEPALIVE_MS = 5_000


class EndpointError(RuntimeError):
    """The endpoint cannot be used (the message says what to do)."""


def socket_path(name: str = CONTROL_SOCKET, state_home: Path | None = None) -> Path:
    """``$AVIN_HOME/state/<name>`` (or the platform's state home)."""
    if state_home is None:
        from engine.paths import homes

        state_home = homes().state
    return state_home / name


def unix_target(path: Path) -> str:
    """The gRPC address of ``path`` (``unix:/abs/path``)."""
    return f"unix:{path.resolve()}"


def check_length(path: Path) -> None:
    if len(os.fsencode(str(path.resolve()))) > MAX_SOCKET_PATH:
        raise EndpointError(
            f"the socket path {path} is longer than {MAX_SOCKET_PATH} bytes, which a unix "
            "socket cannot use: set AVIN_HOME to a shorter folder"
        )


def is_live(path: Path, timeout: float = 0.2) -> bool:
    """Whether a process accepts connections on the unix socket ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def claim_socket(path: Path) -> bool:
    """Make ``path`` free for a new server; True when a stale socket was removed.

    Raises :class:`EndpointError` when a live process serves it or it is not a socket (never
    deleted: it may be a user's file).
    """
    check_length(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(mode):
        raise EndpointError(f"{path} exists and is not a socket: move it away")
    if is_live(path):
        raise EndpointError(
            f"another process serves {path} (is a robot already running with this home?)"
        )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a process that was killed (SIGKILL, power loss)
    return True


def make_private(path: Path) -> None:
    """Mode 0600: only this user may connect (connecting needs write permission)."""
    os.chmod(path, 0o600)


def socket_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the socket at ``path``, or None."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISSOCK(st.st_mode) else None


def release_socket(path: Path, owned: tuple[int, int] | None) -> None:
    """Remove ``path`` if it is still the socket this process bound (``owned``)."""
    if owned is None or socket_id(path) != owned:
        return
    try:
        path.unlink()
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
