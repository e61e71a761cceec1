"""Keep secrets out of logs, errors and state dumps; account ids masked when asked to.

The token and other secrets become ``***`` everywhere :func:`redact` runs (log lines, incidents,
errors, the Log pane). With ``[privacy] hide_accounts`` on (:func:`hide_accounts`), every account id
avin has seen (:func:`register_account`: the config's, the broker's) is shown by :func:`show_account`
as its last characters, ``…1234``: at least four, more when another known account ends the same way
(``…01234`` and ``…91234``), so two accounts can still be told apart. The journal and the state
stores keep the real ids (recovery needs them); only what a person sees is masked.
"""

from __future__ import annotations

import re

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"),
    re.compile(r"\bt\.[A-Za-z0-9_\-]{20,}"),  # T-Invest tokens start with "t."
    re.compile(r"(?i)((?:token|password|secret|authorization)\s*[=:]\s*)[^\s,;'\"]+"),
)
_known: set[str] = set()
_accounts: set[str] = set()
_hiding = False
_account_pattern: re.Pattern[str] | None = None
ACCOUNT_MIN = 6  # a shorter id ("sim-1") is a name made up locally, not an account number
ACCOUNT_SHOWN = 4  # characters kept at the end of a masked id, at least


def register_secret(secret: str | None) -> None:
    """Also mask this exact value wherever it appears (e.g. the configured token)."""
    if secret and len(secret) >= 6:
        _known.add(secret)


def hide_accounts(on: bool) -> None:
    """Mask account ids from now on (``[privacy] hide_accounts``), or show them again."""
    global _hiding
    _hiding = on


def accounts_hidden() -> bool:
    return _hiding


def register_account(account: str | None) -> None:
    """An account id avin has seen, to be masked in text when ids are hidden (a no-op for ids
    shorter than ``ACCOUNT_MIN``). Registering is cheap and done whether hiding is on or not."""
    global _account_pattern
    if account and len(account) >= ACCOUNT_MIN and account not in _accounts:
        _accounts.add(account)
        _account_pattern = None


def show_account(account: str) -> str:
    """The id as a person should see it: itself, or ``…`` and the shortest ending (at least
    ``ACCOUNT_SHOWN`` characters) that no other known account shares."""
    if not _hiding or len(account) < ACCOUNT_MIN:
        return account
    others = [a for a in tuple(_accounts) if a != account]  # a copy: other threads add
    keep = ACCOUNT_SHOWN
    while keep < len(account) and any(a.endswith(account[-keep:]) for a in others):
        keep += 1
    return "…" + account[-keep:]


def _accounts_in_text() -> re.Pattern[str]:
    global _account_pattern
    pattern = _account_pattern  # a local: another thread may register an account meanwhile
    if pattern is None:
        ids = sorted(_accounts, key=len, reverse=True)  # the longest first: one id inside another
        pattern = _account_pattern = re.compile("|".join(re.escape(a) for a in ids))
    return pattern


def redact(text: str) -> str:
    for secret in _known:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    if _hiding and _accounts:  # one pass: a mask is never masked again
        text = _accounts_in_text().sub(lambda m: show_account(m.group(0)), text)
    return text
