"""Updates about the chat itself: the bot blocked, removed or re-added, and groups upgraded
to supergroups (Telegram moves the chat to a new id)."""

from __future__ import annotations

import logging
from typing import Any, Final

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.ext import BaseHandler, ChatMemberHandler, ContextTypes, MessageHandler, filters

from handlers.deps import HandlerDeps

log = logging.getLogger(__name__)

_GONE: Final = frozenset({ChatMemberStatus.BANNED, ChatMemberStatus.LEFT})
_BACK: Final = frozenset(
    {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
)


def handlers(deps: HandlerDeps) -> list[BaseHandler[Any, Any, Any]]:
    """Track the bot's own membership (``my_chat_member``) and chat migrations."""

    async def on_my_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat_id, status = change.chat.id, change.new_chat_member.status
        if status in _GONE:
            if await deps.chats.deactivate(chat_id):
                log.info("chat %s blocked or removed the bot: alerts paused", chat_id)
        elif status in _BACK and await deps.chats.reactivate(chat_id):
            log.info("chat %s can be written to again: alerts resumed", chat_id)

    async def on_migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat_id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat_id
        else:
            return
        if await deps.chats.migrate(old, new):
            log.info("chat %s became %s: settings moved", old, new)

    return [
        ChatMemberHandler(on_my_member, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate),
    ]
