"""Property tests: no argument string makes a command raise or stay silent.

The end-to-end property drives the real Application polling the fake Bot API; it runs on
an event loop in a background thread so hypothesis can feed it examples synchronously.
"""

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fakes.chat_bot import NOW, ChatBot, chat_bot
from bench.fakes.clock import Clock
from bench.fakes.telegram_html import html_error
from bot.totals.index import TotalsIndex
from bot.units import ArgError
from handlers import COMMANDS
from handlers.command import FAILED, UsageError
from handlers.mute import parse_mute_args
from handlers.thresholds import parse_threshold_args, parse_unwatch_args, parse_watch_args
from handlers.totals import parse_liq_args, parse_top_args

T = TypeVar("T")

TOKENS = [
    "1h", "4H", "24h", "7d", "3h", "5m", "60m", "1d", "30m", "0m", "31d",
    "250M", "$1.5B", "750k", "0", "-5M", "1e9", "250,000,000", "1T", "2T", ".5",
    "BTC", "btc", "BTCUSDT", "ETH-USDT-SWAP", "XYZ", "off", "OFF", "none",
    "<b>", "&amp;", "@bot", "🚀", "", "x" * 80,
]  # fmt: skip
ARGS = st.lists(
    st.sampled_from(TOKENS) | st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    max_size=4,
)
ARG_TEXT = ARGS.map(" ".join) | st.text(st.characters(exclude_categories=("Cs",)), max_size=60)


class BotThread:
    """A ChatBot running on its own event loop thread."""

    def __init__(self, db_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        clock = Clock(NOW)
        index = TotalsIndex()
        minute = clock.now - 30 * 60_000
        index.load(
            (minute, venue, coin, side, 1e6, 1, 1e6, minute, coin + "USDT")
            for venue in ("binance", "bybit", "okx")
            for coin in ("BTC", "ETH", "XRP")
            for side in ("long", "short")
        )
        self._cm = chat_bot(db_path, index=index, clock=clock)
        self.bot: ChatBot = self.run(self._cm.__aenter__())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.run(self._cm.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotThread]:
    runner = BotThread(tmp_path_factory.mktemp("args") / "bot.db")
    runner.run(runner.bot.ask(42, "/start"))
    try:
        yield runner
    finally:
        runner.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from([name for name, _ in COMMANDS]), args=ARG_TEXT)
def test_every_command_answers_any_arguments(running: BotThread, name: str, args: str) -> None:
    text = running.run(running.bot.ask(42, f"/{name} {args}"))
    assert text.strip() and FAILED not in text
    assert html_error(text) is None
    if "Usage: " in text:  # a complaint is exactly one line
        assert "\n" not in text, text


PARSERS: list[Callable[[Sequence[str]], object]] = [
    parse_liq_args,
    parse_top_args,
    parse_threshold_args,
    parse_watch_args,
    parse_unwatch_args,
    parse_mute_args,
]


@settings(max_examples=400, deadline=None)
@given(parser=st.sampled_from(PARSERS), args=ARGS)
def test_parsers_return_or_explain_in_one_line(
    parser: Callable[[Sequence[str]], object], args: list[str]
) -> None:
    words = " ".join(args).split()  # what PTB gives handlers as context.args
    try:
        parser(words)
    except (ArgError, UsageError) as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 200
