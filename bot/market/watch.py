"""The market side of one process: the funding / open-interest state and its poller."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aiohttp

from bot.config import MarketConfig
from bot.market.poller import MarketPoller, PollStats
from bot.market.state import MarketState
from storage.db import DbThread


@dataclass
class MarketWatch:
    """``state`` is loaded at start-up; the poller exists once :meth:`start` ran (the
    JobQueue calls :meth:`poll`)."""

    config: MarketConfig
    state: MarketState
    poller: MarketPoller | None = None

    @classmethod
    async def load(cls, config: MarketConfig, dbt: DbThread) -> MarketWatch:
        """The market state with what the database holds."""
        state = MarketState(dbt, config.funding_poll_s)
        await state.load()
        return cls(config, state)

    def start(
        self,
        session: aiohttp.ClientSession,
        dbt: DbThread,
        focus_coins: Callable[[], Iterable[str]],
    ) -> None:
        """Create the poller (open interest of ``focus_coins``); polling is the job's."""
        self.poller = MarketPoller(self.config, session, self.state, dbt, focus_coins=focus_coins)

    def health(self) -> dict[str, dict[str, object]]:
        """Per venue, the poll's health (empty before :meth:`start`)."""
        return self.poller.snapshot() if self.poller is not None else {}

    async def poll(self) -> PollStats | None:
        """One cycle (``None`` before :meth:`start`)."""
        return await self.poller.poll_once() if self.poller is not None else None
