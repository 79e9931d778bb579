"""Link rates as people and `tc` write them: `4mbit`, `512kbit`, `1.5gbit`."""

from __future__ import annotations

import re

from lpdeploy.errors import InputError

UNITS = {"bit": 1, "kbit": 1000, "mbit": 1000**2, "gbit": 1000**3}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*$", re.IGNORECASE)


def parse_rate(text: str, option: str) -> int:
    """Bits a second; a clear exit 2 for anything else ('4mb', '-1mbit', '0kbit')."""
    found = _RATE.match(text)
    if found is None:
        raise InputError.single(
            option, f"{text!r} is not a rate: a number and kbit, mbit or gbit (e.g. 4mbit)"
        )
    bits = round(float(found.group(1)) * UNITS[found.group(2).lower()])
    if bits < 8000:
        raise InputError.single(option, f"{text!r} is below the smallest rate, 8kbit")
    return bits


def show_rate(bits: int) -> str:
    """4000000 -> '4mbit'; 1500000 -> '1.5mbit'."""
    for unit in ("gbit", "mbit", "kbit"):
        if bits >= UNITS[unit]:
            return f"{bits / UNITS[unit]:g}{unit}"
    return f"{bits}bit"


def rsync_kib(bits: int) -> int:
    """rsync's --bwlimit unit, KiB a second (at least 1)."""
    return max(1, bits // 8 // 1024)
