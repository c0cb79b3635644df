"""A strict checker for Telegram's ``parse_mode=HTML`` (Bot API "HTML style").

Stricter than Telegram where Telegram is lenient, so text that passes here is accepted
there: only the documented tags, properly nested and closed; every ``&``, ``<`` and ``>``
outside a tag escaped (named entities ``&lt; &gt; &amp; &quot;`` or numeric ones); at
most 4096 characters after entity parsing, counted in UTF-16 code units as Telegram
counts entity offsets; text that is valid UTF-8 (a lone surrogate, which a venue's JSON
``"\ud800"`` escape can produce, cannot be sent); not empty once parsed (whitespace
written as a character reference, ``&#32;``, is still whitespace).
"""

from __future__ import annotations

import re
from typing import Final

MAX_TEXT: Final = 4096

# tag -> attribute names it may carry (all optional unless listed in _REQUIRED).
_TAGS: Final[dict[str, frozenset[str]]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "tg-spoiler": frozenset(),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
_REQUIRED: Final = {"span": "class", "a": "href"}
_OPAQUE: Final = frozenset({"code", "pre"})  # may not contain other entities

_TAG_RE: Final = re.compile(
    r"<(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9-]*)"
    r"(?P<attrs>(?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'))?)*)\s*>"
)
_ATTR_RE: Final = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'))?")
_ENTITY_RE: Final = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,7})|(lt|gt|amp|quot));")


class TelegramHtmlError(AssertionError):
    """The text would be refused ("can't parse entities") or is too long."""


def _entity_char(match: re.Match[str]) -> str:
    """The character one entity stands for; raises on an invalid code point."""
    dec, hexa, named = match.groups()
    if named:
        return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[named]
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise TelegramHtmlError(f"invalid character reference {match.group(0)}")
    return chr(code)


def _units(ch: str) -> int:
    """UTF-16 code units of one character."""
    return 2 if ord(ch) > 0xFFFF else 1


def _check_attr_value(tag: str, value: str) -> None:
    pos = 0
    while (amp := value.find("&", pos)) != -1:
        m = _ENTITY_RE.match(value, amp)
        if m is None:
            raise TelegramHtmlError(f"unescaped & in an attribute of <{tag}>")
        _entity_char(m)
        pos = m.end()


def _open_tag(name: str, attrs_text: str, stack: list[tuple[str, dict[str, str]]]) -> None:
    attrs: dict[str, str] = {}
    for attr, dq, sq in _ATTR_RE.findall(attrs_text):
        attr = attr.lower()
        if attr not in _TAGS[name] or attr in attrs:
            raise TelegramHtmlError(f"unsupported attribute {attr!r} on <{name}>")
        value = dq or sq
        _check_attr_value(name, value)
        attrs[attr] = value
    needed = _REQUIRED.get(name)
    if needed and not attrs.get(needed):
        raise TelegramHtmlError(f"<{name}> needs a {needed} attribute")
    if name == "span" and attrs["class"] != "tg-spoiler":
        raise TelegramHtmlError('<span> is only allowed as <span class="tg-spoiler">')
    if name == "blockquote" and attrs.get("expandable", ""):
        raise TelegramHtmlError("<blockquote expandable> takes no value")
    parents = [p for p, _ in stack]
    if name == "code" and "class" in attrs:
        if parents[-1:] != ["pre"]:
            raise TelegramHtmlError("a code language is only allowed directly inside <pre>")
        if not re.fullmatch(r"language-[\w+#.-]+", attrs["class"]):
            raise TelegramHtmlError(f"bad code class {attrs['class']!r}")
    if parents and parents[-1] in _OPAQUE and not (parents[-1] == "pre" and name == "code"):
        raise TelegramHtmlError(f"<{name}> inside <{parents[-1]}>: code/pre hold plain text")
    if name in parents and name in {"a", "blockquote", "pre", "code"}:
        raise TelegramHtmlError(f"<{name}> can't be nested in <{name}>")
    stack.append((name, attrs))


def check_telegram_html(text: str) -> None:
    """Raise :class:`TelegramHtmlError` unless Telegram would accept ``text`` as HTML."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TelegramHtmlError(f"text is not valid UTF-8 at {exc.start}") from None
    stack: list[tuple[str, dict[str, str]]] = []
    units = 0
    visible = False
    pos = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "<":
            m = _TAG_RE.match(text, pos)
            if m is None:
                raise TelegramHtmlError(
                    f"unescaped < or malformed tag at {pos}: {text[pos : pos + 20]!r}"
                )
            name = m["name"].lower()
            if name not in _TAGS:
                raise TelegramHtmlError(f"unsupported tag <{name}> at {pos}")
            if m["close"]:
                if m["attrs"]:
                    raise TelegramHtmlError(f"closing tag </{name}> has attributes")
                if not stack or stack[-1][0] != name:
                    expected = f"</{stack[-1][0]}>" if stack else "no closing tag"
                    raise TelegramHtmlError(f"</{name}> at {pos} but expected {expected}")
                stack.pop()
            else:
                _open_tag(name, m["attrs"], stack)
            pos = m.end()
        elif ch == "&":
            m = _ENTITY_RE.match(text, pos)
            if m is None:
                raise TelegramHtmlError(f"unescaped & at {pos}: {text[pos : pos + 12]!r}")
            char = _entity_char(m)
            units += _units(char)
            visible = visible or not char.isspace()
            pos = m.end()
        elif ch == ">":
            raise TelegramHtmlError(f"unescaped > at {pos}")
        else:
            units += _units(ch)
            visible = visible or not ch.isspace()
            pos += 1
    if stack:
        raise TelegramHtmlError(f"unclosed <{stack[-1][0]}>")
    if not visible:
        raise TelegramHtmlError("message text is empty")
    if units > MAX_TEXT:
        raise TelegramHtmlError(f"message is too long: {units} > {MAX_TEXT} after entity parsing")


def html_error(text: str) -> str | None:
    """The reason ``text`` is not valid Telegram HTML, or None if it is."""
    try:
        check_telegram_html(text)
    except TelegramHtmlError as exc:
        return str(exc)
    return None
