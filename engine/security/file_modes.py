"""Files that hold a secret must be private: ssh refuses a private key others can read, avin
refuses a token file (or a config file holding the token) that the group or others can read.

This module only looks: which keys of a parsed config are secrets, which lines of an environment
file set one, and whether a file's mode opens it to the group or others. engine/config.py turns a
finding into a :class:`~engine.config.ConfigProblem` with its fix (``chmod 600 FILE``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# dotted keys of avin.toml whose value is a secret
SECRET_KEYS = ("token", "state.dsn")
# variables of an environment file (the systemd unit's EnvironmentFile) whose value is a secret
SECRET_VARIABLES = ("AVIN_TOKEN", "AVIN_STATE__DSN")


@dataclass(frozen=True, slots=True)
class Exposure:
    """A file holding a secret that others can read (or write)."""

    path: Path
    mode: int  # the permission bits
    owned: bool  # owned by this user: it can be fixed with chmod

    @property
    def who(self) -> str:
        group, other = self.mode & 0o070, self.mode & 0o007
        parts = [name for name, bits in (("group", group), ("others", other)) if bits]
        return " and ".join(parts)

    @property
    def fix(self) -> str:
        if self.owned:
            return f"make it private: chmod 600 {self.path}"
        return f"it belongs to another user: have its owner make it private (chmod 600 {self.path})"

    def describe(self, what: str) -> str:
        return f"holds {what} and is open to {self.who} (mode {self.mode:04o})"


def exposure(path: Path) -> Exposure | None:
    """The exposure of ``path`` (followed if a link), or None when it is private or absent.

    POSIX only: on Windows the modes Python reports are not access rules (the profile folders'
    ACLs are), so nothing is found there."""
    if os.name != "posix":
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode) or not mode & 0o077:
        return None
    return Exposure(Path(path), mode, info.st_uid == os.getuid())


def secret_keys(data: dict[str, Any]) -> list[str]:
    """The secret keys (:data:`SECRET_KEYS`) present with a value in a parsed config file."""
    found = []
    for dotted in SECRET_KEYS:
        node: Any = data
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node not in (None, ""):
            found.append(dotted)
    return found


def env_file_secrets(path: Path) -> list[str]:
    """The secret variables (:data:`SECRET_VARIABLES`) an environment file sets, or [] when it
    cannot be read (systemd skips a missing ``EnvironmentFile=-``)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        line = line.strip().removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if sep and name.strip() in SECRET_VARIABLES and value.strip().strip("'\""):
            found.append(name.strip())
    return found
