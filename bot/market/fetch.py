"""HTTP GETs for the market poller: one line per failure, venue rate limits recognised."""

from __future__ import annotations

from typing import Any, Final

import aiohttp

from bot.config import Settings
from bot.ingest.feed import NETWORK_ERRORS
from bot.venues.wire import Parsed

# Binance answers 429 when over its weight limit, then 418 (an IP ban) if we go on.
_RATE_LIMITED: Final = (418, 429)
MIN_PAUSE_S: Final = 60.0


class VenueFailure(Exception):
    """A request of a venue's cycle failed (the message is one log line)."""


class RateLimited(VenueFailure):
    """The venue answered 429/418; ``retry_after_s`` is how long to leave it alone."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


EXPECTED: tuple[type[BaseException], ...] = (VenueFailure, *NETWORK_ERRORS)
"""What a venue request may raise in normal operation (anything else is a bug)."""


class RestGetter:
    """GET ``path`` from a venue's configured REST base URL with a total timeout."""

    def __init__(
        self, settings: Settings, session: aiohttp.ClientSession, timeout_s: float
    ) -> None:
        self._settings = settings
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.binance_weight = 0  # X-MBX-USED-WEIGHT-1M of Binance's last answer

    async def get(self, venue: str, path: str) -> str:
        """The body of a 200 answer; raises ``RateLimited`` on 429/418 (pause for
        ``Retry-After``, at least a minute), ``VenueFailure`` on other statuses and the
        network errors of ``bot.ingest.feed.NETWORK_ERRORS``."""
        url = self._settings.rest_url(venue) + path
        async with self._session.get(url, timeout=self._timeout) as resp:
            if venue == "binance":
                used = resp.headers.get("X-MBX-USED-WEIGHT-1M", "")
                self.binance_weight = int(used) if used.isdigit() else 0
            if resp.status in _RATE_LIMITED:
                retry = resp.headers.get("Retry-After", "")
                wait = float(retry) if retry.isdigit() else MIN_PAUSE_S
                raise RateLimited(f"{path}: HTTP {resp.status}", max(wait, MIN_PAUSE_S))
            body = await resp.text()
            if resp.status != 200:
                raise VenueFailure(f"{path}: HTTP {resp.status}")
            return body


def require(path: str, parsed: Parsed[Any]) -> None:
    """Raise ``VenueFailure`` unless ``parsed`` is a usable body with at least one item."""
    if parsed.error is not None:
        raise VenueFailure(f"{path}: {parsed.error}")
    if not parsed.items:
        raise VenueFailure(f"{path}: no usable rows")
