"""The Telegram side of ``liqwatch run``: chats, command handlers, alert engine and sender.

Built only when ``TELEGRAM_BOT_TOKEN`` is set; ``bot.app`` drives the lifecycle (rules
loaded and ticking before Telegram answers; sender and polling once it does). Alerts go
from the engine's tick (after every ingest flush, and once a second on the JobQueue) into
the SQLite outbox and out through the one paced ``Sender``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.alerts.fanout import FanoutSink
from bot.alerts.funding import FundingAlerts
from bot.alerts.liquidations import AlertEngine
from bot.chats import ChatService
from bot.clock import now_ms
from bot.core import Core, FeedHooks
from bot.notify.base import Dispatcher
from bot.notify.telegram.request import describe
from bot.notify.telegram.sender import Sender
from handlers import COMMANDS, HandlerDeps, register
from handlers.deps import HealthView

log = logging.getLogger(__name__)

TICK_INTERVAL_S = 1.0


@dataclass
class TelegramParts:
    """What the bot adds to the data core."""

    chats: ChatService
    engine: AlertEngine
    sender: Sender
    funding: FundingAlerts
    outlet: Dispatcher  # every channel, the sender among them: started and stopped together

    def hooks(self) -> FeedHooks:
        """What the feeds drive: an alert tick after each commit, funding alerts after each
        market poll, and the watched coins' open interest."""
        return FeedHooks(
            on_commit=(self.engine.poke,),
            after_poll=(self.funding.on_poll,),
            focus=(self.watched_coins,),
        )

    def watched_coins(self) -> set[str]:
        """Coins some rule watches."""
        totals_needed = self.engine.evaluator.keys()  # (coin or None, window) per rule
        return {coin for coin, _window in totals_needed if coin}

    async def prepare(self) -> None:
        """Before Telegram answers: load the rules, so that alerts raised while it is away
        are stored in the outbox (the sender, once started, sends every unfinished row)."""
        await self.engine.load()

    async def handshake(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """The calls that must succeed before the bot runs: ``getMe`` (PTB caches the bot
        user; safe to repeat after a failure) and the command menu."""
        await app.bot.initialize()
        await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])

    async def start(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """After :meth:`handshake` and ``app.initialize()``: pending outbox, then polling."""
        await self.outlet.start()
        assert app.updater is not None
        token = app.bot.token

        def polling_failed(exc: TelegramError) -> None:
            # PTB retries by itself (1 s growing to 30 s); its default callback would log
            # a traceback for every failed poll.
            log.warning("polling Telegram for updates failed (%s)", describe(exc, token))

        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,  # deleteWebhook is retried, not fatal (debug log only)
            error_callback=polling_failed,
        )

    async def stop(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Stop taking commands first, then let the sender finish what it holds."""
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await self.outlet.stop()


async def _tick_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    engine: AlertEngine = context.job.data  # type: ignore[union-attr,assignment]
    try:
        await engine.tick()
    except Exception:  # ticks before Telegram is up too: never through PTB's error path
        log.exception("alert tick failed")


def build_telegram(
    app: Application[Any, Any, Any, Any, Any, Any],
    core: Core,
    default_rules: Mapping[str, float],
) -> TelegramParts:
    """Create chats (new subscribers get ``default_rules``), engine and sender on ``app``
    and register the command handlers."""
    chats = ChatService(core.dbt, default_rules)
    sender = Sender(app.bot, core.dbt, chats=chats)
    outlet = Dispatcher([sender], core.dbt)  # each row to the channel it names
    engine = AlertEngine(core.dbt, core.totals_service, outlet, now_ms=now_ms)
    funding = FundingAlerts(core.dbt, core.market, outlet, now_ms=now_ms)
    chats.attach(FanoutSink(engine, funding))
    register(
        app,
        HandlerDeps(
            chats=chats,
            totals=core.totals_service,
            health=HealthView(core.health, core.market_health),
            market=core.market,
            now_ms=now_ms,
        ),
    )
    jq = app.job_queue
    assert jq is not None
    jq.run_repeating(
        _tick_job,
        TICK_INTERVAL_S,
        data=engine,
        name="alerts",
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": 1},
    )
    return TelegramParts(chats, engine, sender, funding, outlet)
