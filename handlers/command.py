"""The shared plumbing of every command: who may run it, bad input, and the reply.

A command is a reply function ``async (Request) -> str`` returning the HTML answer. The
wrapper built by :func:`command_handler` turns ``ArgError``/``UsageError``/service errors
into ONE line (what was wrong + the command's usage), refuses group members who are not
administrators where the command changes settings, keeps every reply within Telegram's
limits, and never lets a traceback reach the user or leaves them without an answer.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from telegram import Bot, LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import ChatMigrated, Forbidden, TelegramError
from telegram.ext import CommandHandler, ContextTypes, filters

from bot.chats import ChatServiceError
from bot.text.totals import fit_html
from bot.units import ArgError
from handlers.catalog import Command
from handlers.deps import HandlerDeps

log = logging.getLogger(__name__)

NOT_ADMIN: Final = (
    "Only this group's administrators can change its settings; anyone can use "
    "/liq, /top, /funding, /oi, /settings, /status and /help."
)
FAILED: Final = "Sorry, that failed on our side; please try again in a moment."

# Commands arrive as messages or channel posts; edits of an old command are not re-run.
COMMAND_FILTER: Final = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
_ADMIN_STATUSES: Final = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
_NO_PREVIEW: Final = LinkPreviewOptions(is_disabled=True)


class UsageError(Exception):
    """The arguments are wrong; ``str(err)`` says what, in one line, without the usage."""


class NotAdmin(Exception):
    """A group member who is not an administrator tried to change the group's settings."""


@dataclass(frozen=True, slots=True)
class Request:
    """One command as the reply functions see it."""

    deps: HandlerDeps
    command: Command
    update: Update
    bot: Bot
    chat_id: int
    chat_type: str
    title: str
    args: tuple[str, ...]
    now_ms: int

    async def require_admin(self) -> None:
        """Raise ``NotAdmin`` unless the sender may change this chat's settings."""
        if not await may_change(self.update, self.bot):
            raise NotAdmin()

    def no_args(self) -> None:
        """Raise ``UsageError`` if the command was given any argument."""
        if self.args:
            raise UsageError(f"/{self.command.name} takes no arguments")


Reply = Callable[[Request], Awaitable[str]]


async def may_change(update: Update, bot: Bot) -> bool:
    """True in private chats and channels; in groups only for the creator, administrators,
    and anonymous administrators (who post as the group itself)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None:
        return False
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        return True
    if message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("getChatMember failed in chat %s: %s", chat.id, exc)
        return False
    return member.status in _ADMIN_STATUSES


def problem(command: Command, what: str) -> str:
    """One line: what was wrong, then the command's usage (HTML-escaped)."""
    line = " ".join(what.split()) or "That did not work"
    line = line[0].upper() + line[1:]
    if line[-1] not in ".!?":
        line += "."
    return html.escape(f"{line} Usage: {command.usage}", quote=False)


def command_handler(
    command: Command, deps: HandlerDeps, reply: Reply
) -> CommandHandler[Any, None]:
    """A PTB handler running ``reply`` for ``/command`` and sending its answer."""

    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        request = Request(
            deps=deps,
            command=command,
            update=update,
            bot=context.bot,
            chat_id=chat.id,
            chat_type=chat.type,
            title=chat.title or chat.full_name or "",
            args=tuple(context.args or ()),
            now_ms=deps.now_ms(),
        )
        text = await answer(request, reply)
        await send_reply(deps, message, text)

    return CommandHandler(command.name, callback, filters=COMMAND_FILTER)


async def answer(request: Request, reply: Reply) -> str:
    """The reply's text, or one line saying what was wrong; never raises."""
    try:
        return await reply(request)
    except NotAdmin:
        return html.escape(NOT_ADMIN, quote=False)
    except (ArgError, UsageError, ChatServiceError) as exc:
        return problem(request.command, str(exc))
    except Exception:
        log.exception("/%s failed in chat %s", request.command.name, request.chat_id)
        return html.escape(FAILED, quote=False)


async def send_reply(deps: HandlerDeps, message: Message, text: str) -> None:
    """Send ``text`` (HTML) in answer to ``message``; a chat that blocked the bot is
    deactivated and a migrated group is moved and answered at its new id."""
    text = fit_html(text)
    try:
        await message.reply_html(
            text, link_preview_options=_NO_PREVIEW, allow_sending_without_reply=True
        )
    except Forbidden as exc:
        log.info("chat %s refused a reply (%s): deactivating", message.chat_id, exc)
        await deps.chats.deactivate(message.chat_id)
    except ChatMigrated as exc:
        new_id = int(exc.new_chat_id)
        await deps.chats.migrate(message.chat_id, new_id)
        await message.get_bot().send_message(
            new_id, text, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW
        )
    except TelegramError as exc:
        log.warning("reply to chat %s failed: %s", message.chat_id, exc)
