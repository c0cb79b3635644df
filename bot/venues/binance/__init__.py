"""Binance: everything liqwatch knows about this venue.

``feed`` holds the websocket adapter (plans, parse, reference data), ``market`` the funding
and open-interest REST paths and parsers; ``INFO`` declares the venue to the registry.
"""

from __future__ import annotations

from typing import Final

from bot.venues.base import VenueInfo
from bot.venues.binance.feed import VENUE, BinanceSource
from bot.venues.binance.poll import BinanceMarket

# ``!forceOrder@arr`` pushes at most one order per symbol per second (the largest): a sample.
INFO: Final = VenueInfo(
    name=VENUE,
    display="Binance",
    complete=False,
    ws_url="wss://fstream.binance.com/market",
    rest_url="https://fapi.binance.com",
    source=BinanceSource,
    market=BinanceMarket,
)
