"""What ``avin --version`` prints: the version, the git commit and the build date.

A binary carries ``BUILD_INFO.json`` (written by packaging/build_binary.py) next to its bundled
modules; a source checkout asks git; an installed wheel knows only its version.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine import __version__

INFO_NAME = "BUILD_INFO.json"


def build_info() -> dict[str, str]:
    """``version``, ``commit`` and ``built`` (``unknown`` where nothing tells)."""
    info = {"version": __version__, "commit": "unknown", "built": "unknown"}
    bundle = getattr(sys, "_MEIPASS", None)  # set in a PyInstaller binary
    if bundle is not None:
        try:
            stored = json.loads((Path(bundle) / INFO_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
        info.update({k: str(v) for k, v in stored.items() if k in info})
        return info
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(checkout), "log", "-1", "--format=%h %cI"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            out = []
        if len(out) == 2:
            info["commit"], info["built"] = out[0], f"from source, committed {out[1]}"
    return info


def version_line() -> str:
    info = build_info()
    return f"avin {info['version']} (commit {info['commit']}, built {info['built']})"
