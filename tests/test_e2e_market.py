"""End to end for funding and open interest: ``liqwatch run`` polls fake venue REST APIs on
the JobQueue, and /funding, /oi and /fundingalert answer through a fake Bot API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.venues import FakeBinance, FakeBybit, FakeOkx, OkxInstrument
from bot.app import run_forever
from bot.config import Settings
from tests.fakes.market import (
    FakeMarketRest,
    binance_open_interest,
    binance_premium,
    bybit_body,
    bybit_instrument,
    bybit_ticker,
    okx_body,
    okx_funding,
    okx_mark,
    okx_open_interest,
)

TOKEN = "654321:market-e2e"
HOUR = 3_600_000
CHAT = 2001


def rest_fakes(now: int) -> tuple[FakeMarketRest, FakeMarketRest, FakeMarketRest]:
    next_8h = (now // (8 * HOUR) + 1) * 8 * HOUR
    binance = FakeMarketRest(
        {
            "/fapi/v1/premiumIndex": [binance_premium("BTCUSDT", "60000", "0.0003", next_8h)],
            "/fapi/v1/fundingInfo": [],
            "/fapi/v1/openInterest": binance_open_interest({"BTCUSDT": "1000"}),
        }
    )
    bybit = FakeMarketRest(
        {
            "/v5/market/tickers": bybit_body(
                [bybit_ticker("BTCUSDT", "60000", "0.0002", next_8h, "500", "30000000", "8")]
            ),
            "/v5/market/instruments-info": bybit_body([bybit_instrument("BTCUSDT", 480)]),
        }
    )
    okx_instruments = {"code": "0", "msg": "", "data": [
        {"instId": "BTC-USDT-SWAP", "instType": "SWAP", "ctType": "linear", "ctVal": "0.01",
         "ctMult": "1", "ctValCcy": "BTC", "settleCcy": "USDT", "state": "live"},
    ]}  # fmt: skip
    okx = FakeMarketRest(
        {
            "/api/v5/public/funding-rate": okx_body(
                [okx_funding("BTC-USDT-SWAP", "0.0001", next_8h, next_8h + 8 * HOUR)]
            ),
            "/api/v5/public/open-interest": okx_body(
                [okx_open_interest("BTC-USDT-SWAP", "33333", "333.33", "20000000")]
            ),
            "/api/v5/public/mark-price": okx_body([okx_mark("BTC-USDT-SWAP", "60000")]),
            "/api/v5/public/instruments": okx_instruments,
        }
    )
    return binance, bybit, okx


@pytest.fixture
async def fakes() -> AsyncIterator[dict[str, object]]:
    ws = {"binance": FakeBinance(), "bybit": FakeBybit(["BTCUSDT"]),
          "okx": FakeOkx([OkxInstrument("BTC-USDT-SWAP", "linear", "0.01")])}  # fmt: skip
    rest = dict(zip(("binance", "bybit", "okx"), rest_fakes(int(time.time() * 1000)), strict=True))
    servers = [*ws.values(), *rest.values()]
    for server in servers:
        await server.start()  # type: ignore[attr-defined]
    async with FakeBotApi(token=TOKEN) as telegram:
        yield {"ws": ws, "rest": rest, "telegram": telegram}
    for server in servers:
        await server.stop()  # type: ignore[attr-defined]


async def wait_for(predicate: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_funding_oi_and_funding_alert_through_the_running_bot(
    tmp_path: Path, fakes: dict[str, object]
) -> None:
    ws: dict = fakes["ws"]  # type: ignore[assignment]
    rest: dict = fakes["rest"]  # type: ignore[assignment]
    telegram: FakeBotApi = fakes["telegram"]  # type: ignore[assignment]
    settings = Settings.from_env(
        {
            "LIQWATCH_DB": str(tmp_path / "market.db"),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.base_url,
            "LIQWATCH_FUNDING_POLL_S": "1",
            "LIQWATCH_BINANCE_WS_URL": ws["binance"].ws_url("/market"),
            "LIQWATCH_BYBIT_WS_URL": ws["bybit"].ws_url("/v5/public/linear"),
            "LIQWATCH_OKX_WS_URL": ws["okx"].ws_url("/ws/v5/public"),
            "LIQWATCH_BINANCE_REST_URL": rest["binance"].url,
            "LIQWATCH_BYBIT_REST_URL": rest["bybit"].url,
            "LIQWATCH_OKX_REST_URL": rest["okx"].url,
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(settings, stop))

    def funding_alerts() -> list[str]:
        return [t for t in telegram.texts(CHAT) if t and t.startswith("💸") and "Crossed" in t]

    async def ask(text: str) -> str:
        before = len(telegram.texts(CHAT))
        telegram.push_command(CHAT, text)
        await wait_for(lambda: len(telegram.texts(CHAT)) > before)
        return telegram.texts(CHAT)[before] or ""

    try:
        await ask("/start")
        await wait_for(lambda: rest["binance"].count("/fapi/v1/openInterest") > 0)
        await asyncio.sleep(1.2)  # the poll that read Binance OI is stored
        # Independently: OI-weighted 8h funding = sum(rate x OI) / sum(OI), APR = 8h x 3 x 365.
        oi = {"binance": 1000 * 60000, "bybit": 30_000_000, "okx": 20_000_000}
        rates = {"binance": 0.0003, "bybit": 0.0002, "okx": 0.0001}
        weighted = sum(rates[v] * oi[v] for v in oi) / sum(oi.values())
        funding = await ask("/funding BTC")
        assert f"OI-weighted +{weighted * 100:.4f}%/8h" in funding
        assert f"APR +{weighted * 3 * 365 * 100:.2f}%" in funding
        assert "+0.0300%/8h" in funding and "APR +32.85%" in funding  # Binance
        assert "+0.0100%/8h predicted" in funding  # OKX fundingRate is a prediction
        oi_text = await ask("/oi BTC")
        assert f"Total <b>${sum(oi.values()) // 1_000_000}M</b>" in oi_text
        assert "Binance</b> BTCUSDT $60M" in oi_text

        await ask("/fundingalert 0.02%")
        await wait_for(lambda: len(funding_alerts()) == 1)
        assert funding_alerts()[0].startswith(f"💸 BTC funding +{weighted * 100:.4f}%/8h")
        await asyncio.sleep(2.5)  # two more polls at the same rate: no repeat
        assert len(funding_alerts()) == 1
        assert "At ±0.0200%/8h OI-weighted" in await ask("/settings")
        status = await ask("/status")
        assert status.count("Funding/OI: ") == 3 and "failing" not in status
        rest["okx"].status["/api/v5/public/funding-rate"] = 500  # one venue breaks
        await asyncio.sleep(2.2)
        status = await ask("/status")
        assert status.count("failing") == 1 and "HTTP 500" in status
        assert telegram.html_violations == []
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
