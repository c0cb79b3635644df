"""/settings, /status and /help: read-only answers anyone in the chat may ask for."""

from __future__ import annotations

from typing import Any

from telegram.ext import BaseHandler

from bot.domain import HOUR_MS, WINDOWS
from bot.text.totals import format_help, format_settings, format_status
from handlers.catalog import CATALOG, HELP, SETTINGS, STATUS
from handlers.command import Request, command_handler
from handlers.deps import HandlerDeps

STATUS_COVERAGE_WINDOW = "24h"


async def settings(req: Request) -> str:
    """Everything this chat has set."""
    req.no_args()
    chats = req.deps.chats
    current = await chats.settings(req.chat_id)
    funding = await chats.funding_threshold(req.chat_id)
    return format_settings(current, req.now_ms, chats.default_rules, chats.max_watches, funding)


async def status(req: Request) -> str:
    """Each venue's feed health, liquidations in the last hour and 24 h coverage."""
    req.no_args()
    deps, now = req.deps, req.now_ms
    feeds = deps.health.feeds
    venues = list(dict.fromkeys([*deps.totals.venues, *feeds]))
    snapshots = {venue: health.snapshot() for venue, health in feeds.items()}
    last_hour = deps.totals.index.query(HOUR_MS, now, venues=venues)
    coverage = await deps.totals.coverage(WINDOWS[STATUS_COVERAGE_WINDOW], now)
    polls = deps.health.polls() if deps.health.polls is not None else None
    return format_status(venues, snapshots, last_hour, coverage, now, polls)


async def help_(req: Request) -> str:
    """What the bot does and every command."""
    req.no_args()
    commands = [(c.syntax, c.description) for c in CATALOG]
    return format_help(commands, req.deps.chats.max_watches)


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The /settings, /status and /help handlers."""
    return [
        command_handler(SETTINGS, deps, settings),
        command_handler(STATUS, deps, status),
        command_handler(HELP, deps, help_),
    ]
