"""Typed message lines (bot/text/rich.py): escaped once as HTML, bare as plain text."""

from hypothesis import given
from hypothesis import strategies as st

from bench.fakes.telegram_html import check_telegram_html
from bot.text.rich import BLANK, Span, html_line, italic, line, plain_line, to_html, to_plain


def test_spans_are_escaped_and_styled_in_html_and_bare_in_plain_text() -> None:
    content = line("Longs $117.7M (>99%) · Shorts $590K (<1%) · ", italic("A<B>&C"))
    assert html_line(content) == (
        "Longs $117.7M (&gt;99%) · Shorts $590K (&lt;1%) · <i>A&lt;B&gt;&amp;C</i>"
    )
    assert plain_line(content) == "Longs $117.7M (>99%) · Shorts $590K (<1%) · A<B>&C"
    assert to_html([content, BLANK]) == [html_line(content), ""]
    assert to_plain([content, BLANK, line("x")]) == f"{plain_line(content)}\n\nx"
    assert html_line(line(italic(""))) == ""  # no empty tag pair
    assert plain_line(line("lone \ud800")) == "lone \ufffd"  # printable on a UTF-8 terminal


@given(st.lists(st.tuples(st.text(max_size=100), st.sampled_from((None, "b", "i"))), max_size=10))
def test_any_text_renders_to_valid_html(parts: list[tuple[str, str | None]]) -> None:
    content = tuple(Span(text, style) for text, style in parts)  # type: ignore[arg-type]
    check_telegram_html(html_line((*content, Span("."))))  # "." : Telegram refuses empty text
