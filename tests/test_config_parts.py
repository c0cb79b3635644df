"""Each component's part of the settings: resolved once from ``Settings``, nothing more."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.venues.registry import VENUES, venue_info

venue_sets = st.lists(st.sampled_from(VENUES), min_size=1, unique=True).map(tuple)


@given(venue_sets, st.sampled_from(["", "/", "//"]))
def test_market_and_feed_parts_hold_the_enabled_venues_urls(
    venues: tuple[str, ...], tail: str
) -> None:
    first = venues[0]
    settings = Settings(
        exchanges=venues,
        rest_urls={first: "http://127.0.0.1:9/api" + tail},
        ws_urls={first: "ws://127.0.0.1:9/ws"},
        funding_poll_s=7.0,
    )
    market, feeds = settings.market_config(), settings.feed_config()
    assert market.venues == feeds.venues == venues
    assert market.funding_poll_s == 7.0
    assert market.rest_url(first) == feeds.rest_url(first) == "http://127.0.0.1:9/api"
    assert feeds.ws_url(first) == "ws://127.0.0.1:9/ws"
    for other in venues[1:]:  # not overridden: the venue's own default
        assert market.rest_url(other) == venue_info(other).rest_url.rstrip("/")
        assert feeds.ws_url(other) == venue_info(other).ws_url
    # what is not enabled is not there, so nothing can poll it by mistake
    for off in set(VENUES) - set(venues):
        with pytest.raises(KeyError):
            market.rest_url(off)
        with pytest.raises(KeyError):
            feeds.ws_url(off)


def test_core_part_carries_storage_and_retention() -> None:
    settings = Settings(db_path=Path("x/y.db"), retention_days=0.001)
    core = settings.core_config()
    assert core.store.db_path == Path("x/y.db")
    assert core.store.retention_days == 0.001
    assert core.market == settings.market_config()
    assert core.feeds == settings.feed_config()
