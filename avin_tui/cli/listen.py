"""The options of a command that serves on a network address (``avin web``, ``avin data serve``):
where to bind and the TLS that a non-loopback address needs."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_listen_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    """``--host`` (loopback by default), ``--port``, ``--tls-cert`` and ``--tls-key``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=default_port, help=f"port (default {default_port}; 0: any)"
    )
    parser.add_argument("--tls-cert", type=Path, metavar="PEM", help="TLS certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="TLS private key (PEM)")
