"""Where avin keeps its files.

By default the platform's user directories (platformdirs); when ``AVIN_HOME`` is set, everything
lives under that one folder: ``$AVIN_HOME/config``, ``/data``, ``/state`` and ``/logs``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "avin"


@dataclass(frozen=True, slots=True)
class Homes:
    config: Path
    data: Path
    state: Path
    logs: Path

    @property
    def all(self) -> tuple[Path, Path, Path, Path]:
        return (self.config, self.data, self.state, self.logs)

    @property
    def written(self) -> tuple[Path, Path, Path]:
        """The homes avin writes on its own (the config home holds the user's files)."""
        return (self.data, self.state, self.logs)

    def ensure(self) -> Homes:
        """Create the homes, private to the user (0700), and tighten the ones avin writes that an
        older version left open to group or others (engine/security/private.py). The user's own
        files in the config home keep their modes: one holding a secret that others can read is
        refused instead (engine/config.py, docs/security.md)."""
        from engine.security.private import tighten_all

        for path in self.all:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        tighten_all(self.written)
        return self

    @property
    def config_file(self) -> Path:
        return self.config / "avin.toml"


def homes() -> Homes:
    """The homes in force now (reads ``AVIN_HOME`` on every call, so tests can switch it)."""
    root = os.environ.get("AVIN_HOME")
    if root:
        base = Path(root).expanduser()
        return Homes(base / "config", base / "data", base / "state", base / "logs")
    return Homes(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_state_dir(APP_NAME)),
        Path(platformdirs.user_log_dir(APP_NAME)),
    )
