"""The entries of the lock that avin needs at run time (no extras), hashes kept.

    python packaging/runtime_requirements.py requirements/lock.txt > runtime.txt
Run with a Python where avin and the lock are installed (the Dockerfile's builder): the closure
is walked through the installed distributions' metadata, so no resolver or index is needed.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(root: str = "avin") -> set[str]:
    """Names of every distribution ``root`` needs without its extras (with the extras its
    dependencies ask of each other, like ``markdown-it-py[linkify]``)."""
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(root, "")]
    while todo:
        name, extra = todo.pop()
        key = (_norm(name), extra)
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.distribution(name).requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo.append((req.name, ""))
                todo.extend((req.name, wanted) for wanted in req.extras)
    return {name for name, _ in seen} - {_norm(root)}


def lock_entries(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            current = _norm(line.split("==")[0].split("[")[0].strip())
            entries[current] = line
        elif line.startswith(" ") and current and not line.strip().startswith("#"):
            entries[current] += "\n" + line
    return entries


def main(argv: list[str]) -> int:
    entries = lock_entries(Path(argv[0]).read_text(encoding="utf-8"))
    missing = []
    for name in sorted(runtime_closure()):
        if name in entries:
            print(entries[name].rstrip(" \\"))
        else:
            missing.append(name)
    if missing:
        print(f"not in the lock: {', '.join(missing)} (run make lock)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
