"""Small pieces every Telegram text shares: venue display names, lists, Telegram's length,
and the one escaping function every dynamic value goes through on its way into HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Final

from bot.venues.registry import display_name

# A lone surrogate (a JSON "\ud800" escape decodes to one) is not UTF-8: Telegram
# refuses the message and a UTF-8 terminal raises on print.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def sendable(text: str) -> str:
    """``text`` with any lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def escape(text: str, quote: bool = True) -> str:
    """``text`` made safe inside Telegram HTML: ``&``, ``<``, ``>`` (and quotes when
    ``quote``) escaped, lone surrogates replaced (see :func:`sendable`)."""
    return html.escape(sendable(text), quote=quote)


def venue_name(venue: str) -> str:
    """Display name of a venue (``okx`` -> ``OKX``), from the venue registry."""
    return display_name(venue)


def and_list(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` (empty for no names)."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2
