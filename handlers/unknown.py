"""A command the bot does not have: one line pointing to /help instead of silence.

Only where the command is certainly meant for this bot: in a private chat, or addressed to
it by name (``/foo@ourbot``) in a group or channel. A bare ``/foo`` in a group may belong
to another bot there, and ``/foo@OtherBot`` always does, so those stay unanswered.
"""

from __future__ import annotations

import html
from typing import Any, Final

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, ContextTypes, MessageHandler, filters

from handlers.command import COMMAND_FILTER, send_reply
from handlers.deps import HandlerDeps

# A typo is short; a 4,000-character "command" is quoted only this far.
MAX_QUOTED: Final = 32


def unknown_reply(name: str) -> str:
    """``Unknown command /foo: /help lists every command.`` (HTML-escaped)."""
    shown = name if len(name) <= MAX_QUOTED else name[:MAX_QUOTED] + "…"
    return html.escape(f"Unknown command /{shown}: /help lists every command.", quote=False)


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """The fallback for commands no other handler took (register it last)."""

    async def on_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text or not message.entities:
            return
        entity = message.entities[0]
        if entity.type != MessageEntity.BOT_COMMAND or entity.offset != 0:
            return
        word = message.parse_entity(entity)[1:]
        name, _, target = word.partition("@")
        if not name:
            return
        ours = (context.bot.username or "").lower()
        if target:
            if target.lower() != ours:
                return
        elif chat.type != ChatType.PRIVATE:
            return
        await send_reply(deps, message, unknown_reply(name))

    return [MessageHandler(filters.COMMAND & COMMAND_FILTER, on_unknown)]
