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

    def ensure(self) -> Homes:
        for path in (self.config, self.data, self.state, self.logs):
            path.mkdir(parents=True, exist_ok=True)
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
