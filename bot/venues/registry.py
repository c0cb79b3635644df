"""The venues liqwatch knows, in display order: the one place that lists them.

Adding a venue is its package under ``bot/venues/`` (declaring ``INFO``, a ``VenueInfo``)
plus one line here. Settings, coverage, texts and the feeds read names, display names,
completeness and default URLs from this list. Venues are listed by name (alphabetically):
market records sort venues by name in ``bot.domain``, which imports nothing, and the two
orders must agree (a test checks it).
"""

from __future__ import annotations

from typing import Final

from bot.venues import binance, bybit, okx
from bot.venues.base import VenueInfo

REGISTRY: Final[tuple[VenueInfo, ...]] = (binance.INFO, bybit.INFO, okx.INFO)

VENUES: Final[tuple[str, ...]] = tuple(v.name for v in REGISTRY)
"""Venue names in display order."""

COMPLETE_VENUES: Final[frozenset[str]] = frozenset(v.name for v in REGISTRY if v.complete)
"""Venues whose liquidation feed pushes every liquidation; the others publish samples."""

_BY_NAME: Final = {v.name: v for v in REGISTRY}


def venue_info(name: str) -> VenueInfo:
    """The ``VenueInfo`` of venue ``name``; ``ValueError`` for an unknown name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown venue {name!r}") from None


def display_name(name: str) -> str:
    """How texts show venue ``name`` (``okx`` -> ``OKX``); unknown names capitalised."""
    info = _BY_NAME.get(name.lower())
    return info.display if info is not None else name.capitalize()


def display_names() -> tuple[str, ...]:
    """Display names of every venue, in display order."""
    return tuple(v.display for v in REGISTRY)
