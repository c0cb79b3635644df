"""/mute and /unmute: pause alerts for a while (what fires meanwhile is not sent later)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram.ext import BaseHandler

from bot.text.telegram import escape
from bot.text.totals import clock
from bot.units import format_duration, parse_duration
from handlers.catalog import MUTE, UNMUTE
from handlers.command import Request, UsageError, command_handler
from handlers.deps import HandlerDeps


def parse_mute_args(args: Sequence[str]) -> int:
    """Exactly one duration -> milliseconds."""
    if not args:
        raise UsageError("missing the duration")
    if len(args) > 1:
        raise UsageError(f"too many arguments ({len(args)}); give one duration like 2h")
    return parse_duration(args[0])


async def mute(req: Request) -> str:
    """Mute this chat's alerts for the given duration."""
    duration = parse_mute_args(req.args)
    await req.require_admin()
    until = await req.deps.chats.mute(req.chat_id, duration)
    return (
        f"🔕 Muted for {escape(format_duration(duration))},"
        f" until {escape(clock(until, req.now_ms))}."
        " Alerts during the mute are dropped, not sent afterwards. /unmute ends it."
    )


async def unmute(req: Request) -> str:
    """End this chat's mute."""
    req.no_args()
    await req.require_admin()
    if await req.deps.chats.unmute(req.chat_id):
        return "🔔 Unmuted: alerts are on again."
    return "This chat is not muted."


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The /mute and /unmute handlers."""
    return [command_handler(MUTE, deps, mute), command_handler(UNMUTE, deps, unmute)]
