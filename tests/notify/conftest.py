"""Fixtures of the notify tests: a strict fake Bot API with Telegram's limits and a real PTB
Bot talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from telegram import Bot

from bench.fakes.bot_api import FakeBotApi

TOKEN = "4242:SECRET-token-value"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # PTB 22 warns (an error under our filterwarnings) when building RetryAfter without it.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    yield


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, limits=True) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url) as b:
        yield b
