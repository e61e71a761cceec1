"""Keep secrets out of logs, errors and state dumps."""

from __future__ import annotations

import re

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"),
    re.compile(r"\bt\.[A-Za-z0-9_\-]{20,}"),  # T-Invest tokens start with "t."
    re.compile(r"(?i)((?:token|password|secret|authorization)\s*[=:]\s*)[^\s,;'\"]+"),
)
_known: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Also mask this exact value wherever it appears (e.g. the configured token)."""
    if secret and len(secret) >= 6:
        _known.add(secret)


def redact(text: str) -> str:
    for secret in _known:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text
