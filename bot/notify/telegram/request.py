"""The HTTP backend of every Bot API call: PTB's ``HTTPXRequest`` without its traceback on
error pages.

Telegram's front ends answer an overloaded or restarting backend with an HTML page
(``502 Bad Gateway`` from nginx). PTB's ``BaseRequest.parse_json_payload`` logs such a body
at ERROR with a traceback before raising; the request then fails with ``NetworkError``
("Bad Gateway (502) ...") anyway, which the sender retries and logs in one line. PTB
documents ``parse_json_payload`` as the place to customise parsing, so the override below
raises the same error without the log record.
"""

from __future__ import annotations

import json
from typing import Any

from telegram.error import TelegramError
from telegram.request import HTTPXRequest

# PTB's own defaults (ApplicationBuilder): many concurrent calls, one long poll.
POOL_SIZE = 256
READ_TIMEOUT_S = 5.0  # what PTB uses; the sender passes its own, longer one for sends


class BotApiRequest(HTTPXRequest):
    """``HTTPXRequest`` whose unparseable answers raise without being logged."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        """Parse the JSON of an answer; an HTML error page raises ``TelegramError``
        ("Invalid server response", as PTB does) and is not logged here."""
        try:
            parsed = json.loads(payload.decode("utf-8", "replace"))
        except ValueError as exc:
            raise TelegramError("Invalid server response") from exc
        if not isinstance(parsed, dict):
            raise TelegramError("Invalid server response")
        return parsed


def describe(exc: BaseException, token: str) -> str:
    """A Bot API error in one short line: without the token, and without the HTML page a
    proxy answered (PTB quotes the whole body in the message)."""
    text = str(exc).split(". Parsing the server response", 1)[0]
    text = text.replace(token, "<token>") if token else text
    return f"{type(exc).__name__}: {text}"


def bot_api_requests() -> tuple[BotApiRequest, BotApiRequest]:
    """The request objects for ordinary calls and for ``getUpdates`` (its own pool of one,
    so a long poll never waits behind sends)."""
    return (
        BotApiRequest(connection_pool_size=POOL_SIZE, read_timeout=READ_TIMEOUT_S),
        BotApiRequest(connection_pool_size=1, read_timeout=READ_TIMEOUT_S),
    )
