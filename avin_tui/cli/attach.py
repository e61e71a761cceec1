"""``avin attach``: the terminal app on a robot that runs already (``avin run --headless``, a
systemd service, another terminal's app), through its control socket.

The app is the same (panes, keys, the kill key); it runs no engine of its own. ``q`` asks:
detach (the robot keeps running) or stop the robot. Several terminals may attach at once.
Plain ``avin`` offers this when a robot already runs on the home (:func:`offer_attach`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from avin_tui.cli.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE, user_errors

if TYPE_CHECKING:
    from engine.config import Settings

CONNECT_TIMEOUT = 10.0  # seconds for the first snapshot of a robot that serves the socket


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    attach = subparsers.add_parser(
        "attach",
        help="the terminal app on a robot that runs already (q: detach or stop it)",
        description="Open the terminal app on the robot that serves the control socket of this "
        "home (started with `avin run --headless`, under systemd, or by another `avin`). The "
        "robot keeps running when you detach; several terminals may attach at once.",
    )
    attach.add_argument(
        "--endpoint",
        default=None,
        metavar="PATH|HOST:PORT",
        help="the robot's control socket (default: control.sock in the state home), or its TCP "
        "endpoint ([control] listen)",
    )
    attach.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="TCP: the endpoint's token (default: AVIN_CONTROL_TOKEN, else state/control.token)",
    )
    attach.add_argument(
        "--tls-root-cert",
        type=Path,
        metavar="PEM",
        help="TCP: the robot's certificate (or its CA); needed for an address off loopback",
    )
    attach.add_argument(
        "--tls-server-name", metavar="NAME", help="TCP: the name in the certificate, if not HOST"
    )
    attach.add_argument("--config", type=Path, default=None, metavar="FILE", help="config file")
    attach.set_defaults(func=cmd_attach)


@user_errors
def cmd_attach(args: argparse.Namespace) -> int:
    from engine.config import load_settings

    settings = load_settings(args.config)
    endpoint = args.endpoint
    if endpoint is not None and is_tcp(endpoint):
        return attach_tcp(settings, args)
    return attach(settings, Path(endpoint) if endpoint is not None else None)


def is_tcp(endpoint: str) -> bool:
    """``HOST:PORT`` (a TCP endpoint), not a socket's path."""
    host, sep, port = endpoint.rpartition(":")
    return bool(sep and host) and port.isdigit() and "/" not in endpoint


def robot_serves(path: Path) -> bool:
    from engine.control.endpoint import is_live

    return path.exists() and is_live(path)


def attach(settings: Settings, endpoint: Path | None = None) -> int:
    """Run the attached app until it is left; the exit code."""
    from engine.control.endpoint import socket_path
    from engine.paths import homes

    path = endpoint or socket_path()
    if not robot_serves(path):
        from avin_tui.remote_engine import no_robot_message

        home = None if endpoint else str(homes().state)
        print(f"avin attach: {no_robot_message(path, home)}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    from avin_tui.remote_engine import RemoteEngine

    store = _workspace_store(settings, endpoint)
    remote = RemoteEngine(path, store=store, interval=_interval(settings))
    return run_attached(settings, remote, store)


def attach_tcp(settings: Settings, args: argparse.Namespace) -> int:
    """The app on the robot at the TCP endpoint ``args.endpoint`` (its token, TLS)."""
    from avin_tui.remote_engine import RemoteEngine
    from avin_tui.remote_records import RemoteWorkspace
    from engine.control.client import connect_endpoint

    def connect() -> Any:
        return connect_endpoint(
            args.endpoint,
            token_file=args.token_file,
            tls_root_cert=args.tls_root_cert,
            tls_server_name=args.tls_server_name,
        )

    try:
        connect().close()  # no token, an address that needs TLS: said now, exit 2
    except ValueError as exc:
        print(f"avin attach: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    remote = RemoteEngine(None, connect=connect, where=args.endpoint, interval=_interval(settings))
    remote.store = RemoteWorkspace(remote.control_client)  # the robot keeps the workspace
    return run_attached(settings, remote, None)


def _interval(settings: Settings) -> float:
    return 1.0 / float(getattr(settings.ui, "refresh_hz", 4.0) or 4.0)


def run_attached(settings: Settings, remote: Any, store: Any) -> int:
    try:
        from avin_tui.app import AvinApp  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        print(f"avin attach: the terminal app is not available ({exc})", file=sys.stderr)
        if store is not None:
            store.close()
        return EXIT_UNAVAILABLE
    remote.start()
    try:
        if not remote.wait_connected(CONNECT_TIMEOUT):
            if remote.refused:
                print(f"avin attach: {remote.where}: {remote.problem}", file=sys.stderr)
                return EXIT_CONFIG
            print(
                f"avin attach: the robot on {remote.where} did not answer within "
                f"{CONNECT_TIMEOUT:g} s ({remote.problem})",
                file=sys.stderr,
            )
            return EXIT_UNAVAILABLE
        app = AvinApp(remote, settings, run_engine=False)
        app.sub_title = f"attached to {remote.where}"
        app.run()
    finally:
        remote.request_stop()
        if store is not None:
            store.close()
    code = app.return_code
    if code:
        print(
            f"avin attach: the terminal app stopped on an error (exit {code}); "
            "the robot runs on (`avin status`)",
            file=sys.stderr,
        )
        return int(code)
    return EXIT_OK


def _workspace_store(settings: Settings, endpoint: Path | None) -> Any:
    """The state store of this home, where the workspace is kept (as the app with its own engine
    keeps it); None for a robot of another home (``--endpoint``) or when the store cannot be
    opened (the workspace then lives in memory)."""
    if endpoint is not None:
        return None
    from engine.paths import homes
    from engine.state import open_store

    try:
        return open_store(settings, homes().state)
    except Exception as exc:
        print(f"avin attach: the workspace is not kept ({exc})", file=sys.stderr)
        return None


def offer_attach(settings: Settings) -> int | None:
    """Plain ``avin`` when a robot already runs on this home: on a terminal, ask to attach to it
    (its exit code), else say how; None when no robot runs (start one as usual)."""
    from engine.control.endpoint import socket_path
    from engine.paths import homes

    path = socket_path()
    if not robot_serves(path):
        return None
    pid = _robot_pid(path)
    who = f"a robot (pid {pid})" if pid else "a robot"
    print(f"avin: {who} already runs on {homes().state}.", file=sys.stderr)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("      open the app on it with `avin attach`", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        answer = input("Attach to it? [Y/n] ").strip().lower()
    except EOFError:
        answer = "n"
    if answer not in ("", "y", "yes"):
        print("avin: not attached; the robot keeps running (`avin attach` later)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return attach(settings)


def _robot_pid(path: Path) -> int:
    from engine.control.client import ControlClient, ControlError

    try:
        with ControlClient(path, 1.0) as client:
            return int(client.snapshot().pid)
    except ControlError:
        return 0
