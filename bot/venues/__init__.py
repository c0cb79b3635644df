"""Venue adapters: pure parsers and subscription plans behind the ``VenueSource`` protocol.

The venues themselves are listed in ``bot.venues.registry``.
"""

from __future__ import annotations

from typing import Protocol

from bot.venues.base import Heartbeat, VenueSource
from bot.venues.registry import venue_info

__all__ = ["make_source"]


class _Urls(Protocol):
    def ws_url(self, venue: str) -> str: ...


def make_source(name: str, settings: _Urls, heartbeat: Heartbeat | None = None) -> VenueSource:
    """The adapter for venue ``name`` on its configured websocket URL (``settings.ws_url``).

    ``heartbeat`` overrides the venue's keepalive rules (tests use short timings).
    Raises ``ValueError`` for an unknown venue name.
    """
    return venue_info(name).source(settings.ws_url(name), heartbeat)
