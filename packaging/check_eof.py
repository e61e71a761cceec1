"""Pre-commit hook: every file given ends with exactly one newline (or is empty)."""

from __future__ import annotations

import sys
from pathlib import Path


def bad_ending(data: bytes) -> bool:
    return bool(data) and (not data.endswith(b"\n") or data.endswith(b"\n\n"))


def main(paths: list[str]) -> int:
    bad = [p for p in paths if bad_ending(Path(p).read_bytes())]
    for path in bad:
        print(f"{path}: must end with exactly one newline")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
