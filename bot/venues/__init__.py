"""Venue adapters: pure parsers and subscription plans behind the ``VenueSource`` protocol."""

from __future__ import annotations

from bot.config import Settings
from bot.venues.base import Heartbeat, VenueSource
from bot.venues.binance import BinanceSource
from bot.venues.bybit import BybitSource
from bot.venues.okx import OkxSource

__all__ = ["BinanceSource", "BybitSource", "OkxSource", "make_source"]


def make_source(name: str, settings: Settings, heartbeat: Heartbeat | None = None) -> VenueSource:
    """The adapter for venue ``name`` on its configured websocket URL.

    ``heartbeat`` overrides the venue's keepalive rules (tests use short timings).
    Raises ``ValueError`` for an unknown venue name.
    """
    if name == "binance":
        return BinanceSource(settings.ws_url(name), heartbeat)
    if name == "bybit":
        return BybitSource(settings.ws_url(name), heartbeat)
    if name == "okx":
        return OkxSource(settings.ws_url(name), heartbeat)
    raise ValueError(f"unknown venue {name!r}")
