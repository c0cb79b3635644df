"""Faults the fake Bot API can inject, each answered the way Telegram answers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.bot_api_shapes import api_error, chat_type_of

_SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class _OneOff:
    status: int
    description: str
    method: str | None  # lower-case, None = any method
    chat_id: int | str | None  # None = any chat
    remaining: int
    parameters: dict[str, Any] | None = None


class Faults:
    """Per-chat standing faults (blocked, migrated) and one-off ones (429, 5xx)."""

    def __init__(self) -> None:
        self._blocked: dict[int | str, str] = {}
        self._migrated: dict[int | str, int] = {}
        self._one_offs: list[_OneOff] = []

    def block(self, chat_id: int | str) -> None:
        """Every send to ``chat_id`` gets 403 (blocked by the user / kicked from the group)."""
        kind = chat_type_of(chat_id)
        self._blocked[chat_id] = (
            "Forbidden: bot was blocked by the user"
            if kind == "private"
            else f"Forbidden: bot was kicked from the {kind} chat"
        )

    def vanish(self, chat_id: int | str) -> None:
        """Every send to ``chat_id`` gets 400 "Bad Request: chat not found" (chat deleted)."""
        self._blocked[chat_id] = "Bad Request: chat not found"

    def unblock(self, chat_id: int | str) -> None:
        """Undo :meth:`block`."""
        self._blocked.pop(chat_id, None)

    def migrate(self, chat_id: int | str, new_chat_id: int) -> None:
        """Sends to ``chat_id`` get 400 with ``migrate_to_chat_id`` (group -> supergroup)."""
        self._migrated[chat_id] = new_chat_id

    def flood_once(
        self,
        retry_after: int = 1,
        *,
        chat_id: int | str | None = None,
        method: str = "sendMessage",
    ) -> None:
        """The next matching call gets 429 ``Too Many Requests: retry after N``."""
        self._one_offs.append(
            _OneOff(
                429,
                f"Too Many Requests: retry after {retry_after}",
                method.lower(),
                chat_id,
                1,
                {"retry_after": retry_after},
            )
        )

    def fail_next(self, status: int = 500, *, count: int = 1, method: str | None = None) -> None:
        """The next ``count`` calls (of ``method``, default any) get a server error."""
        description = _SERVER_ERRORS.get(status, f"Error {status}")
        self._one_offs.append(
            _OneOff(status, description, method.lower() if method else None, None, count)
        )

    def check_call(self, method: str, chat_id: Any) -> None:
        """Raise the first one-off fault matching this call (and use it up)."""
        name = method.lower()
        for fault in self._one_offs:
            if fault.method not in (None, name) or fault.chat_id not in (None, chat_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._one_offs.remove(fault)
            raise api_error(fault.status, fault.description, fault.parameters)

    def check_send(self, chat_id: Any) -> None:
        """Raise the standing fault of ``chat_id``, if any."""
        if chat_id in self._blocked:
            reason = self._blocked[chat_id]
            raise api_error(400 if reason.startswith("Bad Request") else 403, reason)
        if chat_id in self._migrated:
            raise api_error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
