"""OKX: everything liqwatch knows about this venue.

``feed`` holds the websocket adapter (plans, parse, reference data), ``market`` the funding
and open-interest REST paths and parsers; ``INFO`` declares the venue to the registry.
"""

from __future__ import annotations

from typing import Final

from bot.venues.base import VenueInfo
from bot.venues.okx.feed import VENUE, OkxSource
from bot.venues.okx.poll import OkxMarket

# OKX says its feed "doesn't represent the total number of liquidations": a sample.
INFO: Final = VenueInfo(
    name=VENUE,
    display="OKX",
    complete=False,
    ws_url="wss://ws.okx.com:8443/ws/v5/public",
    rest_url="https://www.okx.com",
    source=OkxSource,
    market=OkxMarket,
)
