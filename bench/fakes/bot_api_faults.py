"""Faults the fake Bot API can inject, each answered the way Telegram answers it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bench.fakes.bot_api_shapes import api_error, chat_type_of
from bench.fakes.bot_api_wire import Chaos, WireFault

# Methods that deliver a message (what Chaos faults).
SENDS = ("send", "copymessage", "forwardmessage")

_SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


@dataclass
class _OneOff:
    status: int
    description: str
    method: str | None  # lower-case, None = any method
    chat_id: int | str | None  # None = any chat
    remaining: int
    parameters: dict[str, Any] | None = None


@dataclass
class _WireOneOff:
    fault: WireFault
    method: str | None  # lower-case, None = any method
    remaining: int


class Faults:
    """Per-chat standing faults (blocked, migrated), one-off ones (429, 5xx, HTML error
    pages, resets, late answers) and a random mix on sends (:meth:`chaos`)."""

    def __init__(self) -> None:
        self._blocked: dict[int | str, str] = {}
        self._migrated: dict[int | str, int] = {}
        self._one_offs: list[_OneOff] = []
        self._wire: list[_WireOneOff] = []
        self.chaos_mix: Chaos | None = None

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

    def html_error_next(
        self, status: int = 502, *, count: int = 1, method: str | None = None
    ) -> None:
        """The next ``count`` calls (of ``method``, default any) get nginx's HTML error page
        with ``status`` instead of a JSON answer."""
        self._add_wire(WireFault("html", status=status), count, method)

    def reset_next(self, *, count: int = 1, method: str | None = None) -> None:
        """The next ``count`` calls have their connection cut before any answer."""
        self._add_wire(WireFault("reset"), count, method)

    def answer_late(self, delay_s: float, *, count: int = 1, method: str | None = None) -> None:
        """The next ``count`` calls are carried out (a message is delivered), then
        answered only after ``delay_s``."""
        self._add_wire(WireFault("late", delay_s=delay_s), count, method)

    def chaos(
        self, rate: float, *, seed: int, late_s: float, slow_s: float = 0.0, retry_after: int = 1
    ) -> Chaos:
        """From now on, fault ``rate`` of the sends at random (see :class:`Chaos`)."""
        self.chaos_mix = Chaos(rate, random.Random(seed), late_s, retry_after, slow_s)
        return self.chaos_mix

    def _add_wire(self, fault: WireFault, count: int, method: str | None) -> None:
        self._wire.append(_WireOneOff(fault, method.lower() if method else None, count))

    def take_wire(self, method: str) -> WireFault | None:
        """The wire fault for this call, if any (one-offs first, then the chaos mix); a
        chaos pick answered in JSON (500, 429) is raised as the API error instead."""
        name = method.lower()
        for one in self._wire:
            if one.method in (None, name):
                one.remaining -= 1
                if one.remaining <= 0:
                    self._wire.remove(one)
                return one.fault
        if self.chaos_mix is None or not name.startswith(SENDS):
            return None
        kind = self.chaos_mix.pick()
        if kind == "json500":
            raise api_error(500, _SERVER_ERRORS[500])
        if kind == "flood":
            wait = self.chaos_mix.retry_after
            raise api_error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        if kind == "html502":
            return WireFault("html", status=502)
        if kind == "reset":
            return WireFault("reset")
        if kind == "late":
            return WireFault("late", delay_s=self.chaos_mix.late_s)
        if kind == "slow":
            return WireFault("late", delay_s=self.chaos_mix.slow_s)
        return None

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
