"""/start and /stop: subscribing a chat to alerts and unsubscribing it (settings kept)."""

from __future__ import annotations

from typing import Any

from telegram.ext import BaseHandler

from bot.text.telegram import and_list
from bot.text.totals import format_rules
from bot.venues.registry import display_names
from handlers.catalog import START, STOP
from handlers.command import Request, command_handler
from handlers.deps import HandlerDeps

MAIN_COMMANDS = (
    "/liq [COIN] [WINDOW] — totals now, e.g. /liq BTC 4h\n"
    "/top [WINDOW] — coins ranked by liquidations\n"
    "/threshold WINDOW AMOUNT — market-wide alert levels, e.g. /threshold 1h 250M\n"
    "/watch COIN AMOUNT [WINDOW] — alerts for one coin, e.g. /watch BTC 50M\n"
    "/mute 2h · /settings · /status · /stop · /help for everything"
)
INTRO = (
    f"👋 <b>liqwatch</b> follows crypto-futures liquidations on {and_list(display_names())}"
    " and alerts this chat when they spike."
)


async def start(req: Request) -> str:
    """Subscribe this chat (Telegram deep links may add an argument; it is ignored)."""
    await req.require_admin()
    result = await req.deps.chats.subscribe(req.chat_id, req.chat_type, req.title)
    rules = format_rules(r.spec for r in result.rules)
    if result.outcome == "new":
        head = f"{INTRO}\n\nThis chat is now subscribed."
    elif result.outcome == "returning":
        head = "👋 Welcome back: alerts are on again with this chat's settings."
    else:
        head = "This chat is already subscribed."
    if rules:
        body = f"Alerts when liquidations reach:\n{rules}"
    else:
        body = "No thresholds are set yet: add one with /threshold 1h 250M."
    lines = [head, "", body]
    if result.chat.muted(req.now_ms):
        lines += ["", "This chat is muted: /unmute resumes alerts now."]
    if result.outcome == "new":
        lines += ["", "<b>Main commands</b>", MAIN_COMMANDS]
    return "\n".join(lines)


async def stop(req: Request) -> str:
    """Unsubscribe this chat; its thresholds and watches stay for a later /start."""
    req.no_args()
    await req.require_admin()
    if await req.deps.chats.unsubscribe(req.chat_id):
        return (
            "🔕 Alerts stopped. This chat's thresholds and watches are kept:"
            " /start turns alerts back on."
        )
    return "This chat is not subscribed, so there was nothing to stop. /start subscribes it."


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The /start and /stop handlers."""
    return [command_handler(START, deps, start), command_handler(STOP, deps, stop)]
