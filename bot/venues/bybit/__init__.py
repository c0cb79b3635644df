"""Bybit: everything liqwatch knows about this venue.

``feed`` holds the websocket adapter (plans, parse, reference data), ``market`` the funding
and open-interest REST paths and parsers; ``INFO`` declares the venue to the registry.
"""

from __future__ import annotations

from typing import Final

from bot.venues.base import VenueInfo
from bot.venues.bybit.feed import VENUE, BybitSource
from bot.venues.bybit.poll import BybitMarket

# ``allLiquidation`` pushes every liquidation (shared/reference/data-sources.md).
INFO: Final = VenueInfo(
    name=VENUE,
    display="Bybit",
    complete=True,
    ws_url="wss://stream.bybit.com/v5/public/linear",
    rest_url="https://api.bybit.com",
    source=BybitSource,
    market=BybitMarket,
)
