"""Hourly REST poller for venue reference data (Bybit symbol list, OKX contract values).

Fetches every ``source.rest_paths()`` path, following ``RestResult.next_path`` pages,
feeds each body to ``source.on_rest`` and, when the venue's plans or readiness changed,
calls ``on_change`` (the runner's ``refresh``). A failed cycle is retried with jittered
backoff, one log line per failure; the first successful load is what lets a venue whose
``ready()`` is False subscribe at all.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import aiohttp

from bot.ingest.backoff import Backoff, BackoffPolicy
from bot.ingest.feed import NETWORK_ERRORS, describe
from bot.venues.base import ConnectionPlan, VenueSource

log = logging.getLogger(__name__)

MAX_PAGES = 50  # a venue answering with a cursor loop must not keep us paging forever


class RestFailure(Exception):
    """A REST cycle failed for a reason worth one log line (HTTP status, unusable body)."""


_EXPECTED: tuple[type[BaseException], ...] = (RestFailure, *NETWORK_ERRORS)


class RefDataPoller:
    """Keeps one venue's reference data fresh; ``loaded`` is set after the first success."""

    def __init__(
        self,
        source: VenueSource,
        session: aiohttp.ClientSession,
        rest_base_url: str,
        interval_s: float = 3600.0,
        on_change: Callable[[], None] | None = None,
        *,
        request_timeout_s: float = 20.0,
        backoff: BackoffPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.interval_s = interval_s
        self.loaded = asyncio.Event()
        self.failures = 0
        self._session = session
        self._base = rest_base_url.rstrip("/")
        self._on_change = on_change
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        policy = backoff or BackoffPolicy(base_s=2.0, cap_s=120.0)
        self._backoff = Backoff(policy, rng or random.Random())

    async def run(self) -> None:
        """Poll forever: every ``interval_s`` after a success, sooner after a failure."""
        while True:
            error = await self._cycle()
            if error is None:
                delay = self.interval_s
            else:
                delay = self._backoff.next_delay()
                log.warning(
                    "%s: reference data failed (%s): retrying in %.1f s",
                    self.source.name,
                    error,
                    delay,
                )
            await asyncio.sleep(delay)

    async def load_once(self) -> bool:
        """Run one full cycle over ``rest_paths()``; True when every path loaded."""
        error = await self._cycle()
        if error is not None:
            log.warning("%s: reference data failed (%s)", self.source.name, error)
        return error is None

    async def _cycle(self) -> str | None:
        before = self._state()
        try:
            for path in self.source.rest_paths():
                await self._load_path(path)
        except _EXPECTED as exc:
            self.failures += 1
            return describe(exc)
        finally:
            # Pages fed before a failure may still have changed what can be subscribed.
            if self._state() != before and self._on_change is not None:
                self._on_change()
        self._backoff.reset()
        self.loaded.set()
        return None

    async def _load_path(self, path: str) -> None:
        accepted = 0
        pages = 0
        next_path: str | None = path
        while next_path is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise RestFailure(f"{path}: more than {MAX_PAGES} pages")
            body = await self._get(next_path)
            result = self.source.on_rest(next_path, body)
            accepted += result.accepted
            if result.rejects:
                log.debug(
                    "%s: %s rejected %d row(s): %s",
                    self.source.name,
                    next_path,
                    result.rejects,
                    result.sample,
                )
            next_path = result.next_path
        if accepted == 0:
            raise RestFailure(f"{path}: no usable rows")

    async def _get(self, path: str) -> str:
        url = self._base + (path if path.startswith("/") else "/" + path)
        async with self._session.get(url, timeout=self._timeout) as resp:
            body = await resp.text()
            if resp.status != 200:
                raise RestFailure(f"{path}: HTTP {resp.status}")
            return body

    def _state(self) -> tuple[bool, list[ConnectionPlan]]:
        ready = self.source.ready()
        return ready, (self.source.plans() if ready else [])
