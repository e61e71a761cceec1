"""The running robot's control socket for the commands (``avin status/kill/resume``).

:func:`robot` yields a client when a robot serves the socket in this state home, else None
(then the commands use the status store, as before). grpc is imported only when a socket file
exists, so the store path stays as fast as it was.

``--endpoint HOST:PORT`` (:func:`add_endpoint_arguments`, :func:`remote`): a robot on another
machine through its TCP endpoint (``[control] listen``), with its token (``AVIN_CONTROL_TOKEN``
or ``--token-file``) and, off loopback, TLS (``--tls-root-cert``). No store there to fall back on:
a robot that does not answer is an error.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
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


class RemoteError(Exception):
    """The robot at ``--endpoint`` cannot be used (the message says what to do)."""


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        metavar="HOST:PORT",
        help="a robot's TCP control endpoint ([control] listen) instead of this home's socket",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="the endpoint's token (default: AVIN_CONTROL_TOKEN, else state/control.token here)",
    )
    parser.add_argument(
        "--tls-root-cert",
        type=Path,
        metavar="PEM",
        help="TLS: the robot's certificate (or its CA); needed for an address off loopback",
    )
    parser.add_argument(
        "--tls-server-name", metavar="NAME", help="TLS: the name in the certificate, if not HOST"
    )


@contextlib.contextmanager
def remote(args: argparse.Namespace, timeout: float = TIMEOUT) -> Iterator[ControlClient]:
    """A client of the robot at ``args.endpoint``; :class:`RemoteError` when there is no token
    or the address needs TLS."""
    from engine.control.client import connect_endpoint

    try:
        client = connect_endpoint(
            args.endpoint,
            token_file=args.token_file,
            tls_root_cert=args.tls_root_cert,
            tls_server_name=args.tls_server_name,
            timeout=timeout,
        )
    except ValueError as exc:
        raise RemoteError(str(exc)) from None
    try:
        yield client
    finally:
        client.close()


def remote_problem(endpoint: str, exc: Exception) -> str:
    """What a failed call to ``endpoint`` means for the user."""
    code = getattr(getattr(exc, "code", None), "name", "")
    text = str(exc)
    tls_failed = ("CERTIFICATE_VERIFY_FAILED", "andshake", "erification")
    if code == "UNAVAILABLE" and any(mark in text for mark in tls_failed):
        return (
            f"the TLS handshake with {endpoint} failed: its certificate is not the one given "
            "(--tls-root-cert), or it names another host than the one you connect to "
            "(--tls-server-name NAME, the name in the certificate)"
        )
    if code == "UNAVAILABLE":
        return (
            f"no robot answers at {endpoint}: is it running with [control] listen there? If "
            "it serves TLS, give its certificate: --tls-root-cert PEM"
        )
    if code == "UNAUTHENTICATED":
        return f"the robot at {endpoint} refused the token: {exc}"
    return f"the robot at {endpoint}: {exc}"
