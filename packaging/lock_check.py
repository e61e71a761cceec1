"""Names the dependencies of pyproject.toml that requirements/lock.txt does not pin.

Run by ``make`` after the install (a dependency added since the last ``make lock`` is installed
unpinned, and this says so) and by ``make lock``. Exit 1 when something is missing.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def declared(pyproject: Path) -> set[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    names = {_name(r) for r in project.get("dependencies", [])}
    for group in project.get("optional-dependencies", {}).values():
        names |= {_name(r) for r in group}
    return names - {"", "avin"}


def pinned(lock: Path) -> set[str]:
    return {
        _name(line.split("==")[0])
        for line in lock.read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }


def main() -> int:
    missing = sorted(declared(ROOT / "pyproject.toml") - pinned(ROOT / "requirements" / "lock.txt"))
    if missing:
        print(
            f"requirements/lock.txt does not pin {', '.join(missing)} (added to pyproject.toml "
            "since the last `make lock`): installed unpinned; run `make lock` and commit the lock",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
