"""JSON shapes and request decoding of the Bot API, as the fake server needs them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

# Form bodies carry every value as a string; these are decoded back to their JSON types.
_INT_KEYS = frozenset(
    {"chat_id", "user_id", "offset", "limit", "message_id", "from_chat_id", "message_thread_id"}
)
_FLOAT_KEYS = frozenset({"timeout", "cache_time"})
_BOOL_KEYS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "drop_pending_updates",
        "show_alert",
        "allow_sending_without_reply",
    }
)
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "results",
    }
)

# Admin rights PTB 22's ChatMemberAdministrator requires, all granted.
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


class ApiError(Exception):
    """An error answer: HTTP ``status`` and the ``{"ok": false, ...}`` body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["description"])
        self.status = status
        self.body = body


def api_error(status: int, description: str, parameters: dict[str, Any] | None = None) -> ApiError:
    """The Bot API error envelope; PTB picks its exception from the HTTP status."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return ApiError(status, body)


def chat_type_of(chat_id: int | str) -> str:
    """Telegram's id conventions: users positive, supergroups/channels -100..., groups negative."""
    if isinstance(chat_id, str):
        return "channel"  # @username targets
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})


def chat_member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A ChatMember of the given status in the shape PTB 22 deserialises."""
    if status not in MEMBER_STATUSES:
        raise ValueError(f"unsupported member status {status!r}; use {sorted(MEMBER_STATUSES)}")
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(can_be_edited=False, is_anonymous=False)
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "kicked":
        member["until_date"] = 0
    return member


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a message starting with ``/cmd``."""
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0] if text.strip() else text
    # Entity offsets and lengths are in UTF-16 code units.
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def callback_query_json(
    query_id: str,
    user: dict[str, Any],
    chat: dict[str, Any],
    data: str,
    message_id: int,
    bot_user: dict[str, Any],
) -> dict[str, Any]:
    """A CallbackQuery: ``user`` pressed a button carrying ``data`` under a bot message."""
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "from": bot_user,
        "text": "…",
    }
    return {
        "id": query_id,
        "from": user,
        "chat_instance": f"ci{chat['id']}",
        "data": data,
        "message": message,
    }


def my_chat_member_json(
    chat: dict[str, Any], user: dict[str, Any], bot_user: dict[str, Any], status: str
) -> dict[str, Any]:
    """A ChatMemberUpdated for the bot itself (``kicked`` = blocked / removed)."""
    old = "kicked" if status == "member" else "member"
    return {
        "chat": chat,
        "from": user,
        "date": int(time.time()),
        "old_chat_member": chat_member(old, bot_user),
        "new_chat_member": chat_member(status, bot_user),
    }


def coerce_params(params: dict[str, Any]) -> dict[str, Any]:
    """Decode string form values of known keys to ints, floats, bools and JSON objects."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _INT_KEYS:
                value = _int_or_str(value)
            elif key in _FLOAT_KEYS:
                value = float(value)
            elif key in _BOOL_KEYS:
                value = value.lower() == "true"
            elif key in _JSON_KEYS:
                value = json.loads(value)
        out[key] = value
    return out


def _int_or_str(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value  # "@channelusername"


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request as received: method name as sent, decoded params, status answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the fake accepted."""

    chat_id: int | str
    text: str | None
    parse_mode: str | None
    at: float
    message_id: int
    method: str
    params: dict[str, Any] = field(repr=False)


def default_user(chat_id: int) -> int:
    """The user a push without one comes from: the private chat's own id, else 1000."""
    return chat_id if chat_id > 0 else 1000


def update_kind(update: dict[str, Any]) -> str:
    """The update's type (``message``, ``callback_query``, ...)."""
    return next(k for k in update if k != "update_id")
