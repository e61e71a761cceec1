"""Prints the CHANGELOG.md section of one version (``make release`` writes it to dist/).

    python packaging/changelog_section.py 0.1.0
Exit 1 when CHANGELOG.md has no section for that version.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"


def section(text: str, version: str) -> str | None:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"## [{version}]")), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip() + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: changelog_section.py VERSION", file=sys.stderr)
        return 2
    found = section(CHANGELOG.read_text(encoding="utf-8"), argv[0])
    if found is None:
        print(
            f"CHANGELOG.md has no section for {argv[0]}: add one before releasing", file=sys.stderr
        )
        return 1
    sys.stdout.write(found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
