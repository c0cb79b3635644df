"""The console channel: notices printed as plain text (console mode, no Telegram).

It renders when it delivers, like the Telegram channel: the alert engine hands it the
notice (data), and the text is the Telegram alert's own lines without markup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Final

from bot.alerts.notice import LiquidationNotice, NoticeError, from_json
from bot.text.notice import notice_plain
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

CONSOLE: Final = "console"


class ConsoleChannel:
    """Renders each notice as plain text and hands it to ``write`` (standard output).

    A ``bot.notify.base.Channel`` for rows whose ``channel`` is ``console``: standard output
    has no rate limit, so pushed rows are written at once. It keeps no outbox state: rows it
    is pushed are written, and their status is left to the pipeline that stored them.
    """

    name: str = CONSOLE

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def render(self, row: OutboxRow) -> str:
        """The row's notice as plain text (a row stored with text only: that text)."""
        if row.notice is None:
            return row.text
        notice = from_json(row.notice)
        if not isinstance(notice, LiquidationNotice):
            raise NoticeError(f"no plain text for a {type(notice).__name__}")
        return notice_plain(notice)

    def deliver(self, notice: LiquidationNotice) -> None:
        """Render the notice now and write it (errors of ``write`` propagate)."""
        self.write(notice_plain(notice))

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Render and write each row now, in order (one bad row does not stop the next)."""
        for row in rows:
            try:
                self.write(self.render(row))
            except NoticeError as exc:
                log.warning("console message %d not printed: %s", row.id, exc)
            except Exception:
                log.exception("printing console message %d failed", row.id)

    async def start(self) -> None:
        """Nothing to start: standard output is always there."""

    async def stop(self) -> None:
        """Nothing to stop."""
