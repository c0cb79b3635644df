"""The venue registry: the one list of venues, and what each declares."""

import pytest

from bot.config import Settings
from bot.domain import MarketSnapshot, venue_order
from bot.venues import make_source
from bot.venues.registry import (
    COMPLETE_VENUES,
    REGISTRY,
    VENUES,
    display_name,
    display_names,
    venue_info,
)


def test_registry_lists_todays_venues_in_display_order() -> None:
    assert VENUES == ("binance", "bybit", "okx")
    assert display_names() == ("Binance", "Bybit", "OKX")
    assert frozenset({"bybit"}) == COMPLETE_VENUES


def test_registry_order_is_the_order_market_records_sort_venues() -> None:
    # bot.domain imports nothing, so it sorts venues by name; the registry must agree.
    assert list(VENUES) == sorted(VENUES)
    snaps = [
        MarketSnapshot(v, "XUSDT", "X", 0, None, None, None, None, None, None)
        for v in reversed(VENUES)
    ]
    assert [s.venue for s in sorted(snaps, key=venue_order)] == list(VENUES)


def test_each_venue_declares_a_source_on_its_default_url() -> None:
    for info in REGISTRY:
        assert info.name == info.name.lower() and info.name.isidentifier()
        assert venue_info(info.name) is info
        source = make_source(info.name, Settings())
        assert source.name == info.name
        assert info.ws_url.startswith("wss://") and info.rest_url.startswith("https://")
        assert Settings().ws_url(info.name) == info.ws_url
        assert Settings().rest_url(info.name) == info.rest_url.rstrip("/")


def test_display_names_and_unknown_venues() -> None:
    assert display_name("okx") == "OKX" and display_name("OKX") == "OKX"
    assert display_name("kraken") == "Kraken"
    with pytest.raises(ValueError, match="unknown venue 'kraken'"):
        venue_info("kraken")
