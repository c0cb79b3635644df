"""HTTP GETs for the market poller: one line per failure, venue rate limits recognised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import aiohttp

from bot.ingest.feed import NETWORK_ERRORS
from bot.venues.poll import RateLimited, VenueFailure

# Venues answer 429 when over their limit; Binance then 418 (an IP ban) if we go on.
_RATE_LIMITED: Final = (418, 429)
MIN_PAUSE_S: Final = 60.0


EXPECTED: tuple[type[BaseException], ...] = (VenueFailure, *NETWORK_ERRORS)
"""What a venue request may raise in normal operation (anything else is a bug)."""


class RestGetter:
    """GET ``path`` from a venue's configured REST base URL with a total timeout."""

    def __init__(
        self,
        rest_url: Callable[[str], str],
        session: aiohttp.ClientSession,
        timeout_s: float,
    ) -> None:
        """``rest_url`` gives each venue's REST base URL (no trailing slash)."""
        self._rest_url = rest_url
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers: dict[str, dict[str, str]] = {}  # venue -> its last answer's headers

    async def get(self, venue: str, path: str) -> str:
        """The body of a 200 answer; raises ``RateLimited`` on 429/418 (pause for
        ``Retry-After``, at least a minute), ``VenueFailure`` on other statuses and the
        network errors of ``bot.ingest.feed.NETWORK_ERRORS``."""
        url = self._rest_url(venue) + path
        async with self._session.get(url, timeout=self._timeout) as resp:
            # Kept before the status checks: a 429 also reports the venue's used weight.
            self._headers[venue] = {k.lower(): v for k, v in resp.headers.items()}
            if resp.status in _RATE_LIMITED:
                retry = resp.headers.get("Retry-After", "")
                wait = float(retry) if retry.isdigit() else MIN_PAUSE_S
                raise RateLimited(f"{path}: HTTP {resp.status}", max(wait, MIN_PAUSE_S))
            body = await resp.text()
            if resp.status != 200:
                raise VenueFailure(f"{path}: HTTP {resp.status}")
            return body

    def header(self, venue: str, name: str) -> str:
        """Header ``name`` (any case) of ``venue``'s last answer; empty when absent."""
        return self._headers.get(venue, {}).get(name.lower(), "")
