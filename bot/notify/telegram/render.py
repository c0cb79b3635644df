"""The Telegram channel's rendering: an outbox row's HTML, made just before it is sent.

A row holds its alert as a notice (data); the HTML is rendered when the sender takes the
row, so what is stored stays free of Telegram's markup. A fan-out sends one notice to
thousands of chats: :class:`HtmlRenderer` renders each notice once.
"""

from __future__ import annotations

from typing import Final

from bot.alerts.notice import from_json
from bot.text.notice import notice_html
from storage.outbox import OutboxRow

# Renderings kept (one per notice in flight is enough: rows of a fan-out come together).
RENDERED_MEMORY: Final = 64


def render_html(row: OutboxRow) -> str:
    """The HTML Telegram gets for ``row``: its notice rendered now, or, for a row stored
    with text only (queued before notices existed, or a command's notice), that text.

    Raises ``bot.alerts.notice.NoticeError`` when the stored notice cannot be read back.
    """
    if row.notice is None:
        return row.text
    return notice_html(from_json(row.notice))


class HtmlRenderer:
    """:func:`render_html` with the last ``RENDERED_MEMORY`` notices' HTML kept."""

    def __init__(self, memory: int = RENDERED_MEMORY) -> None:
        self.memory = memory
        self._rendered: dict[str, str] = {}  # notice JSON -> HTML, oldest first

    def render(self, row: OutboxRow) -> str:
        """The row's HTML (see :func:`render_html`)."""
        if row.notice is None:
            return row.text
        text = self._rendered.get(row.notice)
        if text is None:
            text = self._rendered[row.notice] = render_html(row)
            if len(self._rendered) > self.memory:
                del self._rendered[next(iter(self._rendered))]
        return text
