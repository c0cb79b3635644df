"""Message content as typed lines, rendered once as Telegram HTML and once as plain text.

A line is a sequence of spans; a span is text plus an optional style. The HTML renderer
escapes every span's text, so a dynamic value cannot reach a message unescaped whatever
it holds (``<1%``, a coin called ``A<B>&C``), and each tag opens and closes inside its
span, so a message cut between lines stays valid. The plain renderer drops the styles:
the console and the chat state the same facts in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from bot.text.telegram import escape, sendable

Style = Literal["b", "i"]


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of text, bold or italic when ``style`` says so."""

    text: str
    style: Style | None = None


Line = tuple[Span, ...]


def line(*parts: str | Span) -> Line:
    """A line from plain strings and styled spans, in order."""
    return tuple(p if isinstance(p, Span) else Span(p) for p in parts)


def italic(text: str) -> Span:
    """An italic span."""
    return Span(text, "i")


BLANK: Final[Line] = ()


def html_line(content: Line) -> str:
    """One line as Telegram HTML: every span escaped, styled spans wrapped in their tag."""
    out = []
    for span in content:
        text = escape(span.text, quote=False)
        out.append(f"<{span.style}>{text}</{span.style}>" if span.style and text else text)
    return "".join(out)


def plain_line(content: Line) -> str:
    """One line as plain text (the styles dropped, nothing escaped)."""
    return sendable("".join(span.text for span in content))


def to_html(lines: Iterable[Line]) -> list[str]:
    """Each line as Telegram HTML."""
    return [html_line(x) for x in lines]


def to_plain(lines: Iterable[Line]) -> str:
    """The lines as one plain-text block."""
    return "\n".join(plain_line(x) for x in lines)
