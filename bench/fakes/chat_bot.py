"""The real PTB Application with our handlers, polling a FakeBotApi on loopback, backed by
a real SQLite file on a DbThread, a real TotalsIndex and a recording rule sink."""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application, ApplicationBuilder

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.clock import Clock
from bench.fakes.rule_sink import RecordingSink
from bench.fakes.telegram_html import html_error
from bot.chats import ChatService
from bot.config import Settings
from bot.ingest.health import SourceHealth
from bot.market.state import MarketState
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from handlers import HandlerDeps, register
from handlers.deps import CoverageProvider, HealthView, no_coverage
from storage.db import DbThread

TOKEN = "123:ABC"
T0 = 1_791_590_400_000  # 2026-10-10 00:00 UTC, a minute boundary
NOW = T0 + 12 * 3_600_000  # the handlers' default "now"


@dataclass
class ChatBot:
    """Everything a handler test talks to."""

    fake: FakeBotApi
    app: Application[Any, Any, Any, Any, Any, Any]
    dbt: DbThread
    chats: ChatService
    sink: RecordingSink
    index: TotalsIndex
    clock: Clock
    deps: HandlerDeps
    checked: int = field(default=0)

    async def ask(self, chat_id: int, text: str, *, within: float = 5.0, **kw: Any) -> str:
        """Send ``text`` as a user of ``chat_id``; wait for and return the ONE reply."""
        return await self.expect_reply(
            chat_id, lambda: self.fake.push_command(chat_id, text, **kw), within
        )

    async def expect_reply(
        self, chat_id: int, push: Callable[[], object], within: float = 5.0
    ) -> str:
        """Run ``push`` (queue an update); wait for the bot's next message, to ``chat_id``."""
        before = len(self.fake.sent)
        push()
        await self.fake.wait_until(lambda: len(self.fake.sent) > before, within)
        reply = self.fake.sent[before]
        assert reply.chat_id == chat_id, reply
        assert reply.parse_mode == "HTML"
        assert isinstance(reply.text, str)
        self.check_all()
        return reply.text

    async def settle(self, chat_id: int) -> None:
        """Wait until every update pushed so far is handled (a /help round trip behind them)."""
        await self.ask(chat_id, "/help")

    def check_all(self) -> None:
        """Every message sent so far is valid Telegram HTML within 4096 characters."""
        assert self.fake.html_violations == []
        for message in self.fake.sent[self.checked :]:
            assert message.text is not None
            assert html_error(message.text) is None, message.text
        self.checked = len(self.fake.sent)


@asynccontextmanager
async def chat_bot(
    db_path: Path,
    *,
    index: TotalsIndex | None = None,
    health: Mapping[str, SourceHealth] | None = None,
    coverage: CoverageProvider = no_coverage,
    clock: Clock[int] | None = None,
    settings: Settings | None = None,
    max_watches: int = 30,
    configure: Callable[[ChatService], None] | None = None,
    known_coins: frozenset[str] = frozenset(),
    market: MarketState | None = None,
    market_health: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None,
) -> AsyncIterator[ChatBot]:
    """Start fake server, DB thread and the polling Application; stop them all after."""
    clock = clock or Clock(NOW)
    settings = settings or Settings(db_path=db_path)
    sink = RecordingSink()
    dbt = DbThread(db_path)
    chats = ChatService(dbt, settings.default_rules, sink, now_ms=clock)
    chats.max_watches = max_watches
    if configure is not None:
        configure(chats)
    index = index if index is not None else TotalsIndex()
    deps = HandlerDeps(
        chats=chats,
        totals=TotalsService(
            index,
            settings.exchanges,
            coverage=coverage,
            market=market,
            known_coins=lambda: known_coins,
            now_ms=clock,
        ),
        health=HealthView(health or {}, market_health),
        market=market,
        now_ms=clock,
    )
    async with FakeBotApi(token=TOKEN) as fake:
        app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
        register(app, deps)
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=1))
        try:
            yield ChatBot(fake, app, dbt, chats, sink, index, clock, deps)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            await dbt.close()
