"""The console channel: notices printed as plain text (console mode, no Telegram).

It renders when it delivers, like the Telegram channel: the alert engine hands it the
notice (data), and the text is the Telegram alert's own lines without markup.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts.notice import LiquidationNotice
from bot.text.notice import notice_plain


class ConsoleChannel:
    """Renders each notice as plain text and hands it to ``write`` (standard output)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def render(self, notice: LiquidationNotice) -> str:
        """The notice as plain text."""
        return notice_plain(notice)

    def deliver(self, notice: LiquidationNotice) -> None:
        """Render the notice now and write it (errors of ``write`` propagate)."""
        self.write(self.render(notice))
