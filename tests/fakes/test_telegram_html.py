"""The strict Telegram HTML checker the fake Bot API runs on every HTML message."""

from __future__ import annotations

import contextlib
import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.fakes.telegram_html import TelegramHtmlError, check_telegram_html, html_error

GOOD = [
    "plain text",
    "<b>BTC</b> longs liquidated: <i>$343.2M</i> in 1h",
    "<strong>a</strong><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>",
    '<span class="tg-spoiler">x</span> <tg-spoiler>y</tg-spoiler>',
    '<a href="https://example.com/?a=1&amp;b=2">link</a>',
    "<code>/threshold 1h 250M</code>",
    '<pre><code class="language-python">x = 1 &lt; 2</code></pre>',
    "<pre>a\n  b</pre>",
    "<blockquote>quote <b>bold</b></blockquote>",
    "<blockquote expandable>long</blockquote>",
    "<b>bold <i>both <u>all</u></i></b>",
    "&lt;&gt;&amp;&quot; &#36;100 &#x1F4A5;",
    "<B>upper-case tag names</B>",
    "x" * 4096,
    "&amp;" * 4096,
]

BAD = [
    ("1 < 2", "unescaped <"),
    ("1 > 2", "unescaped >"),
    ("AT&T", "unescaped &"),
    ("&nbsp;", "unescaped &"),
    ("&#0;", "invalid character reference"),
    ("&#xD800;", "invalid character reference"),
    ("<b>open", "unclosed <b>"),
    ("<b><i>x</b></i>", "</b> at 7 but expected </i>"),
    ("x</b>", "no closing tag"),
    ("<div>x</div>", "unsupported tag <div>"),
    ("<br>", "unsupported tag <br>"),
    ("<b/>", "malformed tag"),
    ('<span class="red">x</span>', 'only allowed as <span class="tg-spoiler">'),
    ("<span>x</span>", "needs a class"),
    ("<a>x</a>", "needs a href"),
    ('<a href="x" title="t">x</a>', "unsupported attribute 'title'"),
    ('<b class="x">x</b>', "unsupported attribute 'class' on <b>"),
    ('<a href="?a=1&b=2">x</a>', "unescaped & in an attribute"),
    ("<code><b>x</b></code>", "code/pre hold plain text"),
    ("<pre><i>x</i></pre>", "code/pre hold plain text"),
    ('<code class="language-py">x</code>', "only allowed directly inside <pre>"),
    ('<a href="a"><a href="b">x</a></a>', "can't be nested"),
    ("<blockquote><blockquote>x</blockquote></blockquote>", "can't be nested"),
    ('<blockquote expandable="yes">x</blockquote>', "takes no value"),
    ("", "empty"),
    ("  <b> </b>\n", "empty"),
    ("&#32;&#x0A;", "empty"),
    ("BTC\ud800", "not valid UTF-8"),
    ("<b>1%</b> \udfff", "not valid UTF-8"),
    ("x" * 4097, "too long: 4097"),
    ("💥" * 2049, "too long: 4098"),  # emoji count twice (UTF-16)
    ("<b>" + "&lt;" * 4097 + "</b>", "too long"),
]


@pytest.mark.parametrize("text", GOOD)
def test_accepts_valid_telegram_html(text: str) -> None:
    check_telegram_html(text)
    assert html_error(text) is None


@pytest.mark.parametrize(("text", "reason"), BAD)
def test_rejects_invalid_html_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(TelegramHtmlError) as info:
        check_telegram_html(text)
    assert reason in str(info.value)
    assert html_error(text) == str(info.value)


@given(st.text(min_size=1, max_size=300).filter(str.strip))
def test_escaped_text_in_tags_is_always_valid(text: str) -> None:
    check_telegram_html(f"<b>{html.escape(text)}</b> <code>{html.escape(text)}</code>")


@given(st.text(max_size=50))
def test_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(TelegramHtmlError):
        check_telegram_html(text)
