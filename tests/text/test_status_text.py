"""Feed and poll reasons in words, from the reasons real aiohttp failures produce."""

from __future__ import annotations

import socket

import aiohttp
import pytest
from aiohttp import web

from bot.ingest.feed import describe
from bot.text.status import feed_error_words, poll_error_words


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_real_connect_failures_become_words() -> None:
    port = free_port()  # nobody listens: "Cannot connect to host 127.0.0.1:<port> ..."
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError) as refused:
            await session.ws_connect(f"ws://127.0.0.1:{port}/ws")
    reason = f"connect failed ({describe(refused.value)})"
    assert "127.0.0.1" in reason
    assert feed_error_words(reason) == "cannot connect"
    assert poll_error_words(f"mark prices: {describe(refused.value)}") == (
        "cannot connect (mark prices)"
    )


async def test_a_refused_handshake_says_its_status() -> None:
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"ws://127.0.0.1:{port}/nowhere")
    finally:
        await runner.cleanup()
    assert feed_error_words(f"connect failed ({describe(refused.value)})") == (
        "handshake refused (HTTP 404)"
    )


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("connect failed (TimeoutError)", "timed out"),
        ("connection lost (Server disconnected)", "connection lost"),
        ("socket open but silent for 60 s", "no data: the venue went silent"),
        ("closed by server (code 1006)", "closed by the venue"),
        ("socket error (unknown)", "connection error"),
        ("something nobody foresaw <x>", "connection problem"),
    ],
)
def test_feed_reasons(reason: str, words: str) -> None:
    assert feed_error_words(reason) == words


@pytest.mark.parametrize(
    ("errors", "words"),
    [
        (
            "mark prices: /api/v5/public/mark-price?instType=SWAP: HTTP 404",
            "HTTP 404 from mark prices",
        ),
        ("/fapi/v1/premiumIndex: HTTP 502", "HTTP 502 from funding"),
        ("TimeoutError", "timed out"),
        ("open interest: not done in 10 s", "timed out (open interest)"),
        ("rate limited: paused for 60 s", "rate limited, paused"),
        ("/v5/market/tickers?category=linear: invalid JSON", "unreadable answer from tickers"),
        ("/api/v5/public/funding-rate?instId=ANY: no usable rows", "no data from funding"),
        ("internal error: KeyError", "internal error (see the log)"),
        (
            "/fapi/v1/openInterest: HTTP 500; /fapi/v1/openInterest: HTTP 500",
            "HTTP 500 from open interest",
        ),
    ],
)
def test_poll_reasons(errors: str, words: str) -> None:
    assert poll_error_words(errors) == words
