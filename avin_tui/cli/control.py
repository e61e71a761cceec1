"""The running robot's control socket for the commands (``avin status/kill/resume``).

:func:`robot` yields a client when a robot serves the socket in this state home, else None
(then the commands use the status store, as before). grpc is imported only when a socket file
exists, so the store path stays as fast as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.control.client import ControlClient

TIMEOUT = 2.0  # seconds for one call; a robot answers in milliseconds


@contextlib.contextmanager
def robot(timeout: float = TIMEOUT) -> Iterator[ControlClient | None]:
    from engine.control.endpoint import socket_path

    path = socket_path()
    if not path.exists():
        yield None
        return
    from engine.control.client import connect

    client = connect(path, timeout)
    try:
        yield client
    finally:
        if client is not None:
            client.close()
