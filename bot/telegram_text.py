"""Small pieces every Telegram text shares: venue display names, lists, Telegram's length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

VENUE_NAMES: Final = {"binance": "Binance", "bybit": "Bybit", "okx": "OKX"}


def venue_name(venue: str) -> str:
    """Display name of a venue (``okx`` -> ``OKX``)."""
    return VENUE_NAMES.get(venue.lower(), venue.capitalize())


def and_list(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` (empty for no names)."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2
