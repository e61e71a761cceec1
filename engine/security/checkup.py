"""What ``avin config check`` says about the token besides the refusals (engine/config.py): where
the token in force comes from, and the warnings that are not refusals - a token file of another
owner that others can read (a Docker secret mounted 0444 by root), a token in avin.toml where
``avin token set`` would keep it apart from the settings. And what ``[control]`` serves, with
the control token's source (:func:`control_notes`)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from engine.security.file_modes import exposure, secret_keys
from engine.security.token_source import TOKEN_FILE_ENV, TokenSourceError, token_origin


def token_notes(config_home: Path, config_file: Path, mode: str = "auto") -> list[str]:
    """Plain lines for the user; never the token. ``mode`` is the configured one: without a
    token, sandbox and live cannot start, auto and sim trade the simulated market."""
    try:
        with open(config_file, "rb") as handle:
            in_config = "token" in secret_keys(tomllib.load(handle))
    except (OSError, tomllib.TOMLDecodeError):
        in_config = False
    notes = []
    try:
        origin = token_origin(config_home, config_file, in_config)
    except TokenSourceError as exc:  # load_settings reported it already
        origin = None
        notes.append(f"token: {exc}")
    if origin is not None:
        notes.append(f"token: from the {origin}")
    elif not notes and mode in ("sandbox", "live"):
        notes.append(
            f'warning: token: none, and mode = "{mode}" needs one: `avin run` will refuse to '
            "start until `avin token set` stores it"
        )
    elif not notes:
        notes.append("token: none (avin trades the simulated market; `avin token set` stores one)")
    named = os.environ.get(TOKEN_FILE_ENV, "").strip()
    found = exposure(Path(named).expanduser()) if named else None
    if found is not None and not found.owned:
        notes.append(
            f"warning: {TOKEN_FILE_ENV}={named} is open to {found.who} (mode {found.mode:04o}) "
            "and belongs to another user: fine for a container's secret, not on a shared machine"
        )
    if in_config and origin is not None and origin.kind == "config file":
        notes.append(
            "note: the token sits in the config file; `avin token set` keeps it apart (the OS "
            "keyring or a 0600 file), so the config can be shared or backed up without it"
        )
    return notes


def control_notes(control: object, state_home: Path) -> list[str]:
    """What ``[control]`` serves and the problems a start would log (never the token)."""
    from engine.security.service_access import (
        CONTROL_TOKEN_ENV,
        CONTROL_TOKEN_FILE,
        AccessError,
        read_token,
    )

    listen = getattr(control, "listen", None)
    if not listen:
        return ["control: the unix socket state/control.sock only ([control] listen is not set)"]
    cert, key = getattr(control, "tls_cert", None), getattr(control, "tls_key", None)
    how = "TLS" if cert is not None else "loopback, no TLS"
    named = getattr(control, "token_file", None)
    notes = [f"control: also on TCP at {listen} ({how}), a token on every call"]
    problems = [
        f"cannot read {p}" for p in (cert, key) if p is not None and not os.access(p, os.R_OK)
    ]
    if os.environ.get(CONTROL_TOKEN_ENV, "").strip():
        notes.append(f"control: the token from {CONTROL_TOKEN_ENV}")
    else:
        path = Path(named) if named is not None else state_home / CONTROL_TOKEN_FILE
        if named is None and not path.exists():
            notes.append(f"control: the token file {path} is made on the first start")
        else:
            try:
                read_token(path, env=False)
                notes.append(f"control: the token from {path}")
            except AccessError as exc:
                problems.append(str(exc))
    notes += [f"warning: control: {p} (the robot would serve the socket only)" for p in problems]
    return notes
