"""A python-telegram-bot request backend for console mode: no Telegram, no network.

Without a token the ``Application`` still runs (its JobQueue is the only scheduler) with
the same lifecycle as the real bot; ``getMe`` is answered locally and any other Bot API
call fails at once with ``NetworkError``, so nothing ever leaves the machine.
"""

from __future__ import annotations

import json

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

CONSOLE_TOKEN = "0:console-mode"


class ConsoleRequest(BaseRequest):
    """Answers ``getMe`` locally; every other call raises ``NetworkError``."""

    @property
    def read_timeout(self) -> float | None:
        """No network, so no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Serve ``getMe``; refuse the rest."""
        name = url.rsplit("/", 1)[-1]
        if name.lower() == "getme":
            me = {"id": 0, "is_bot": True, "first_name": "liqwatch", "username": "console"}
            return 200, json.dumps({"ok": True, "result": me}).encode()
        raise NetworkError(f"console mode: no Telegram ({name})")
