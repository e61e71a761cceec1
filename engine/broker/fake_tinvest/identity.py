"""Instrument ids shaped like T-Invest's: a uid in UUID form and a FIGI with a valid check digit,
both derived from the instrument's code (so they stay the same from run to run)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from engine.model import Instrument

_UID_NAMESPACE = uuid.UUID("0f6d1c2e-8a53-4b7e-9d41-3c2a5e7f9b10")
_FIGI_CHARS = "BCDFGHJKLMNPQRSTVWXYZ0123456789"  # consonants and digits, as in real FIGIs


def figi_check_digit(body: str) -> str:
    """The 12th character of a FIGI: a modified Luhn over the first eleven (letters A=10..Z=35,
    every second value doubled, the digits of the values summed)."""
    total = 0
    for i, ch in enumerate(body):
        value = int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
        if i % 2 == 1:
            value *= 2
        total += sum(int(d) for d in str(value))
    return str((10 - total % 10) % 10)


def real_shaped(inst: Instrument) -> Instrument:
    """The instrument with a uid in UUID form and a FIGI shaped like a real one (``BBG`` + eight
    consonants or digits + the check digit), both derived from its code: as T-Invest answers."""
    uid = uuid.uuid5(_UID_NAMESPACE, inst.code)
    digits = uid.int
    body = "BBG"
    for _ in range(8):
        digits, index = divmod(digits, len(_FIGI_CHARS))
        body += _FIGI_CHARS[index]
    return replace(inst, uid=str(uid), figi=body + figi_check_digit(body))
