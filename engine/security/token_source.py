"""Where the T-Invest token comes from, first found wins:

1. ``AVIN_TOKEN`` (the environment; read by the settings themselves);
2. the file named by ``AVIN_TOKEN_FILE`` (a systemd credential, a Docker/Kubernetes secret);
3. the OS keyring, when ``avin token set`` stored the token there (it leaves the marker file
   ``token.keyring`` in the config home; the optional ``keyring`` package, ``avin[keyring]``, with a
   usable backend). Only then is the keyring asked: importing it and finding its backend costs a
   few hundred milliseconds, and a desktop's locked keyring would ask to be unlocked at every
   start of a user who never put a token there;
4. ``token`` in the config home, a 0600 file (``avin token set`` where there is no keyring);
5. ``token`` in avin.toml.

Nothing here prints or logs a token; each token found is registered for redaction by its users.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOKEN_ENV = "AVIN_TOKEN"
TOKEN_FILE_ENV = "AVIN_TOKEN_FILE"
HOME_TOKEN_FILE = "token"  # in the config home
KEYRING_MARKER = (
    "token.keyring"  # in the config home: avin token set stored the token in the keyring
)
KEYRING_SERVICE = "avin"
KEYRING_USERNAME = "token"


class TokenSourceError(Exception):
    """A token source that is named but cannot be used (what, and what to do)."""

    def __init__(self, source: str, message: str, hint: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class TokenOrigin:
    """Where the token in force came from (never the token itself)."""

    kind: str  # "environment", "token file", "keyring", "config home", "config file"
    where: str  # the variable, the path or the keyring entry

    def __str__(self) -> str:
        return f"{self.kind} ({self.where})"


def env_token_set() -> bool:
    """Whether ``AVIN_TOKEN`` is set to something (the settings read variables
    case-insensitively); an empty one (``AVIN_TOKEN=`` left in an env file) does not hide the
    sources after it."""
    return any(name.upper() == TOKEN_ENV and value.strip() for name, value in os.environ.items())


def home_token_path(config_home: Path) -> Path:
    return config_home / HOME_TOKEN_FILE


def keyring_marker(config_home: Path) -> Path:
    return config_home / KEYRING_MARKER


def read_token_file(path: Path, source: str) -> str:
    """The token in ``path`` (surrounding whitespace and the final newline removed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TokenSourceError(
            source, f"{path} is not a text file", "put only the token in it"
        ) from None
    except OSError as exc:
        raise TokenSourceError(
            source,
            f"cannot read {path}: {exc.strerror or exc}",
            "point it at a readable file that holds only the token",
        ) from None
    token = text.strip()
    if not token:
        raise TokenSourceError(source, f"{path} is empty", "put the token in it")
    if any(ch.isspace() for ch in token):
        raise TokenSourceError(
            source, f"{path} holds more than one word", "put only the token in it, on one line"
        )
    return token


# --- the OS keyring (optional) -------------------------------------------------------------------


def keyring_module() -> Any | None:
    """The ``keyring`` package when it is installed and has a usable backend, else None.

    A backend of priority below 1 (keyring's ``fail`` and ``null`` backends, what a headless
    server without a Secret Service gets) counts as no keyring; ``PYTHON_KEYRING_BACKEND=
    keyring.backends.null.Keyring`` switches the keyring off for avin."""
    try:
        import keyring
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 0))
    except Exception:  # a broken backend configuration: no keyring, not a crash
        return None
    return keyring if priority >= 1 else None


def token_from_keyring(config_home: Path) -> str | None:
    """The token ``avin token set`` stored in the keyring, or None when it stored none there."""
    if not keyring_marker(config_home).exists():
        return None
    module = keyring_module()
    if module is None:
        raise TokenSourceError(
            "the OS keyring",
            "`avin token set` stored the token there, but no usable keyring is available now",
            "install avin[keyring] (and unlock the keyring), or store the token again with "
            "`avin token set --file`",
        )
    try:
        value = module.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
    except Exception as exc:  # locked, D-Bus gone, ...: said, never a silent switch to SIM
        raise TokenSourceError(
            "the OS keyring",
            f"cannot be read ({type(exc).__name__})",
            "unlock it, or keep the token in a file instead: `avin token set --file`",
        ) from None
    if not value or not value.strip():
        raise TokenSourceError(
            "the OS keyring",
            "holds no avin token any more (removed by another program?)",
            "store it again with `avin token set`",
        )
    return value.strip()


# --- the chain ----------------------------------------------------------------------------------


def external_token(config_home: Path) -> tuple[str, TokenOrigin] | None:
    """The token from sources 2-4 (after ``AVIN_TOKEN``, before avin.toml), or None."""
    named = os.environ.get(TOKEN_FILE_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        return read_token_file(path, f"environment ({TOKEN_FILE_ENV})"), TokenOrigin(
            "token file", f"{TOKEN_FILE_ENV}={path}"
        )
    from_keyring = token_from_keyring(config_home)
    if from_keyring is not None:
        return from_keyring, TokenOrigin(
            "keyring", f"service {KEYRING_SERVICE!r}, user {KEYRING_USERNAME!r}"
        )
    home_file = home_token_path(config_home)
    if home_file.exists():
        return read_token_file(home_file, str(home_file)), TokenOrigin(
            "config home", str(home_file)
        )
    return None


def token_origin(
    config_home: Path, config_file: Path, config_has_token: bool
) -> TokenOrigin | None:
    """Where the token in force comes from (for ``avin token check`` and ``config check``)."""
    if env_token_set():
        return TokenOrigin("environment", TOKEN_ENV)
    found = external_token(config_home)
    if found is not None:
        return found[1]
    if config_has_token:
        return TokenOrigin("config file", str(config_file))
    return None


# --- avin token set / clear ---------------------------------------------------------------------


def validate_token(token: str) -> str:
    """The token stripped; ValueError (never quoting it) when it cannot be one."""
    token = token.strip()
    if not token:
        raise ValueError("the token is empty")
    if any(ch.isspace() for ch in token) or not token.isprintable() or not token.isascii():
        raise ValueError("the token has spaces or unprintable characters: paste only the token")
    return token


def store_token(token: str, config_home: Path, use_keyring: bool = True) -> TokenOrigin:
    """Keep the token in the OS keyring (when there is one and ``use_keyring``) or in a 0600 file
    in the config home; the other copy, if any, is removed so that one place holds it."""
    token = validate_token(token)
    home_file = home_token_path(config_home)
    module = keyring_module() if use_keyring else None
    if module is not None:
        try:
            module.set_password(KEYRING_SERVICE, KEYRING_USERNAME, token)
        except Exception as exc:
            raise TokenSourceError(
                "the OS keyring",
                f"cannot store the token ({type(exc).__name__})",
                "unlock it, or store the token in a file: avin token set --file",
            ) from None
        write_private_file(
            keyring_marker(config_home),
            f"avin token set stored the token in the OS keyring: service {KEYRING_SERVICE!r}, "
            f"user {KEYRING_USERNAME!r}\n",
        )
        with contextlib.suppress(FileNotFoundError):
            home_file.unlink()
        return TokenOrigin("keyring", f"service {KEYRING_SERVICE!r}, user {KEYRING_USERNAME!r}")
    write_private_file(home_file, token + "\n")
    _forget_keyring(config_home)  # a keyring entry would shadow the file
    return TokenOrigin("config home", str(home_file))


def clear_token(config_home: Path) -> list[str]:
    """Remove the stored token (keyring entry and config-home file); what was removed."""
    removed = []
    if _forget_keyring(config_home):
        removed.append("the OS keyring entry")
    home_file = home_token_path(config_home)
    with contextlib.suppress(FileNotFoundError):
        home_file.unlink()
        removed.append(str(home_file))
    return removed


def _forget_keyring(config_home: Path) -> bool:
    """Delete the keyring entry ``avin token set`` made, and its marker."""
    marker = keyring_marker(config_home)
    if not marker.exists():
        return False
    module = keyring_module()
    deleted = False
    if module is not None:
        try:
            if module.get_password(KEYRING_SERVICE, KEYRING_USERNAME) is not None:
                module.delete_password(KEYRING_SERVICE, KEYRING_USERNAME)
                deleted = True
        except Exception:
            deleted = False
    marker.unlink(missing_ok=True)
    return deleted


def write_private_file(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` as a 0600 file (created 0600, never briefly readable by
    others), atomically: a temporary file beside it, flushed, then renamed over it."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)  # whatever the umask did to the O_CREAT mode (it can only narrow)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
