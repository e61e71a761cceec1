"""Who may call a service this robot offers over TCP (the control API): its address rules and
its access token.

- :func:`parse_listen` reads ``host:port`` (``[::1]:7700`` for IPv6); :func:`listen_problem`
  says why an address may not be served: one that is not loopback needs TLS, or the token and
  everything else would cross the network in clear.
- The token: ``AVIN_CONTROL_TOKEN`` when set, else a file (0600; made with a random token on the
  first serve). A file others can read is refused with its fix, as ssh refuses such a key. Each
  token read is registered for redaction (:mod:`engine.model.redact`): it is never logged.
- :func:`token_matches` compares in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from engine.model.redact import register_secret
from engine.security.file_modes import exposure
from engine.security.token_source import write_private_file

CONTROL_TOKEN_ENV = "AVIN_CONTROL_TOKEN"
CONTROL_TOKEN_FILE = "control.token"  # in the state home, beside the control socket
MIN_TOKEN = 16  # characters: a shorter one is guessable


class AccessError(ValueError):
    """The address or the token cannot be used (the message says what to do)."""


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` as (host, port); a clear :class:`AccessError` otherwise."""
    host, sep, port_text = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise AccessError(
            f"{text!r} is not host:port: write for example 127.0.0.1:7700 (or [::1]:7700)"
        )
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def listen_problem(listen: str, tls: bool) -> str | None:
    """Why ``listen`` may not be served (None: it may)."""
    try:
        host, _ = parse_listen(listen)
    except AccessError as exc:
        return str(exc)
    if not tls and not is_loopback(host):
        return (
            f"{host} is not a loopback address: serving it without TLS would send the token and "
            "every answer in clear. Set tls_cert and tls_key, or listen on 127.0.0.1 and reach "
            "it through an SSH tunnel"
        )
    return None


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def read_token(path: Path, *, create: bool = False, env: bool = True) -> str:
    """``AVIN_CONTROL_TOKEN`` if set (and ``env``), else the token in ``path``; with ``create``
    a missing file is made (0600) with a new random token. Registered for redaction."""
    token = os.environ.get(CONTROL_TOKEN_ENV, "").strip() if env else ""
    if not token:
        if create and not path.exists():
            try:
                write_private_file(path, secrets.token_urlsafe(32) + "\n")
            except OSError as exc:
                raise AccessError(f"cannot make the token file {path}: {exc}") from None
        try:
            open_to = exposure(path)
            if open_to is not None:
                raise AccessError(f"{path} {open_to.describe('a token')}: {open_to.fix}")
            token = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise AccessError(
                f"no token: set {CONTROL_TOKEN_ENV}, or give the token file ({path} not found)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessError(f"cannot read the token file {path}: {exc}") from None
    if len(token) < MIN_TOKEN:
        raise AccessError(f"the token is shorter than {MIN_TOKEN} characters: use a longer one")
    register_secret(token)
    return token


def token_matches(presented: str, expected: str) -> bool:
    """Constant time, whatever the lengths."""
    return hmac.compare_digest(presented.encode(), expected.encode())
