"""A notice rendered for a channel: Telegram HTML, or plain text for a terminal.

Pure: the same notice always gives the same text, so a row rendered at send time after a
restart reads exactly as it would have before it.
"""

from __future__ import annotations

from bot.alerts.notice import FundingNotice, LiquidationNotice, Notice
from bot.text.alert import alert_text, format_alert
from bot.text.market import format_funding_alert


def notice_html(notice: Notice) -> str:
    """The notice as Telegram HTML (what ``sendMessage`` gets)."""
    if isinstance(notice, LiquidationNotice):
        return format_alert(notice.spec, notice.fire, notice.totals, notice.day, notice.context)
    return format_funding_alert(notice.market, notice.fire)


def notice_plain(notice: LiquidationNotice) -> str:
    """A liquidation notice as plain text: the same lines as the HTML, no markup.

    Funding notices have no plain rendering yet: only Telegram chats set funding alerts
    (the console evaluates the default liquidation rules alone).
    """
    return alert_text(notice.spec, notice.fire, notice.totals, notice.day, notice.context)


__all__ = ["FundingNotice", "LiquidationNotice", "Notice", "notice_html", "notice_plain"]
