"""The control API over TCP (``[control] listen``): the same service, a token on every call.

:class:`TcpEndpoint` is what to serve: the address, TLS (a PEM certificate and key) or none (a
loopback address only: :mod:`engine.security.service_access`), and the token. Every call must
carry ``authorization: Bearer <token>``; a missing or wrong one is UNAUTHENTICATED with what to
do, checked in constant time, and never logged (only the caller's address is). The unix socket
needs no token: its mode (0600) already says who may connect.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from engine.security.service_access import (
    CONTROL_TOKEN_ENV,
    CONTROL_TOKEN_FILE,
    AccessError,
    listen_problem,
    parse_listen,
    read_token,
    token_matches,
)

log = logging.getLogger("avin.control")

AUTH_HEADER = "authorization"
REFUSAL_LOG_EVERY = 10.0  # seconds: at most one log line of refused calls
REFUSED = (
    "a valid token is required: send the metadata 'authorization: Bearer <token>' (avin "
    f"commands read {CONTROL_TOKEN_ENV} or --token-file; on the robot's machine the token is in "
    f"state/{CONTROL_TOKEN_FILE} unless [control] token_file names another file)"
)


@dataclass(frozen=True, slots=True)
class TcpEndpoint:
    host: str
    port: int  # 0: the system picks one (tests)
    token: str
    tls: tuple[bytes, bytes] | None = None  # (PEM key, PEM certificate chain)

    def __repr__(self) -> str:  # never the token
        return f"TcpEndpoint({self.host}:{self.port}, tls={self.tls is not None})"


def endpoint_from(settings: Any, state_home: Path | None = None) -> TcpEndpoint | None:
    """The endpoint ``[control]`` asks for (None: no ``listen``); :class:`AccessError` when it
    cannot be served as asked (the message says what to do)."""
    listen = getattr(settings, "listen", None)
    if not listen:
        return None
    cert, key = getattr(settings, "tls_cert", None), getattr(settings, "tls_key", None)
    if (cert is None) != (key is None):
        raise AccessError("[control] tls_cert and tls_key go together: give both or neither")
    problem = listen_problem(listen, tls=cert is not None)
    if problem:
        raise AccessError(f"[control] listen: {problem}")
    host, port = parse_listen(listen)
    tls = None
    if cert is not None and key is not None:
        try:
            tls = (Path(key).read_bytes(), Path(cert).read_bytes())
        except OSError as exc:
            raise AccessError(f"[control] cannot read the TLS files: {exc}") from None
    token_file = getattr(settings, "token_file", None)
    if token_file is not None:  # the user's file (a systemd credential...): never made here
        return TcpEndpoint(host, port, read_token(Path(token_file)), tls)
    if state_home is None:
        from engine.paths import homes

        state_home = homes().state
    return TcpEndpoint(host, port, read_token(state_home / CONTROL_TOKEN_FILE, create=True), tls)


def bind(server: grpc.Server, endpoint: TcpEndpoint) -> int:
    """Add the endpoint's port to ``server``; the port bound."""
    from engine.security.service_access import host_port

    address = host_port(endpoint.host, endpoint.port)
    try:
        if endpoint.tls is not None:
            port = server.add_secure_port(address, grpc.ssl_server_credentials([endpoint.tls]))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # gRPC: "Failed to bind to address"
        port = 0
    if not port:
        raise AccessError(
            f"cannot listen on {address}: the address is in use (another robot, or another "
            "program?) or not one of this machine's; choose another [control] listen"
        )
    return port


class Refusals:
    """The log of refused calls: the first one at once, then at most one line every
    ``every`` seconds with how many were refused meanwhile (a client hammering the port with
    wrong tokens cannot flood the log). Never the token, only the caller's address."""

    def __init__(
        self, every: float = REFUSAL_LOG_EVERY, clock: Callable[[], float] = time.monotonic
    ):
        self.every = every
        self.clock = clock
        self._lock = threading.Lock()
        self._last = -float("inf")
        self._quiet = 0  # refusals not logged since the last line
        self.count = 0

    def refused(self, peer: str) -> None:
        with self._lock:
            self.count += 1
            now = self.clock()
            if now - self._last < self.every:
                self._quiet += 1
                return
            quiet, self._quiet, self._last = self._quiet, 0, now
        more = f" ({quiet} more refused before it)" if quiet else ""
        log.warning("refused a call without the right token from %s%s", peer, more)


def guarded(
    behaviour: Callable[..., Any], token: str, streaming: bool, refusals: Refusals
) -> Callable[..., Any]:
    """``behaviour`` that first checks the call's token (UNAUTHENTICATED without it)."""

    def check(context: grpc.ServicerContext) -> None:
        presented = ""
        for key, value in context.invocation_metadata():
            if key == AUTH_HEADER and isinstance(value, str):
                presented = value.removeprefix("Bearer ").strip()
        if not token_matches(presented, token):
            refusals.refused(context.peer())
            context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)

    if streaming:

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            check(context)
            yield from behaviour(request, context)

        return stream

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        check(context)
        return behaviour(request, context)

    return unary
