"""OKX funding-rate / open-interest / mark-price parsers on documented bodies."""

import json

import pytest

from bot.venues.okx.market import (
    okx_snapshots,
    parse_funding_rates,
    parse_mark_prices,
    parse_open_interest,
)
from tests.fakes.market import okx_body, okx_funding, okx_mark, okx_open_interest

T = 1_743_588_686_291

# The documented funding-rate item (OKX "Get funding rate"), verbatim.
DOC_FUNDING = {
    "formulaType": "noRate",
    "fundingRate": "0.0000182221218054",
    "fundingTime": "1743609600000",
    "impactValue": "",
    "instId": "BTC-USDT-SWAP",
    "instType": "SWAP",
    "interestRate": "",
    "maxFundingRate": "0.00375",
    "method": "current_period",
    "minFundingRate": "-0.00375",
    "nextFundingRate": "",
    "nextFundingTime": "1743638400000",
    "premium": "0.0000910113652644",
    "settFundingRate": "0.0000145824401745",
    "settState": "settled",
    "ts": "1743588686291",
}
DOC_OI = {
    "instId": "BTC-USDT-SWAP",
    "instType": "SWAP",
    "oi": "2216113.01000000",
    "oiCcy": "22161.1301",
    "oiUsd": "1939251795.2",
    "ts": "1709535150000",
}


def test_predicted_rate_settled_rate_and_interval() -> None:
    parsed = parse_funding_rates(json.dumps(okx_body([DOC_FUNDING])))
    f = parsed.items["BTC-USDT-SWAP"]
    assert f.rate == 0.0000182221218054  # fundingRate: the prediction
    assert f.settled == 0.0000145824401745  # settFundingRate: the settled one
    assert f.interval_h == 8.0  # nextFundingTime - fundingTime
    assert f.funding_ms == 1743609600000  # the settlement the prediction is for


def test_non_8h_intervals() -> None:
    h = 3_600_000
    body = json.dumps(
        okx_body(
            [
                okx_funding("MOODENG-USDT-SWAP", "-0.0042", T + h, T + 2 * h),
                okx_funding("AI16Z-USDT-SWAP", "0.0009", T + h, T + 5 * h),
                okx_funding("TRUMP-USDT-SWAP", "0.0003", T + h, T + 3 * h),
                okx_funding("ODD-USDT-SWAP", "0.0001", T + h, T + h),  # zero: unknown
                okx_funding("FAR-USDT-SWAP", "0.0001", T + h, T + 49 * h),  # 48 h: unknown
            ]
        )
    )
    items = parse_funding_rates(body).items
    assert items["MOODENG-USDT-SWAP"].interval_h == 1.0
    assert items["AI16Z-USDT-SWAP"].interval_h == 4.0
    assert items["TRUMP-USDT-SWAP"].interval_h == 2.0
    assert items["ODD-USDT-SWAP"].interval_h is None
    assert items["FAR-USDT-SWAP"].interval_h is None
    assert items["MOODENG-USDT-SWAP"].settled is None  # "" on the wire


def test_snapshots_merge_funding_oi_and_marks() -> None:
    funding = parse_funding_rates(
        json.dumps(
            okx_body(
                [
                    DOC_FUNDING,
                    okx_funding("ETH-USD-SWAP", "-0.0001", T + 3_600_000, T + 5 * 3_600_000),
                ]
            )
        )
    )
    oi = parse_open_interest(
        json.dumps(
            okx_body(
                [
                    DOC_OI,
                    okx_open_interest("ETH-USD-SWAP", "100000", "2500.5", "10000000"),
                    okx_open_interest("SOL-USDT-SWAP", "50", "5", "1000"),
                ]
            )
        )
    )
    marks = parse_mark_prices(
        json.dumps(
            okx_body([okx_mark("BTC-USDT-SWAP", "87500.1"), okx_mark("ETH-USD-SWAP", "4000")])
        )
    )
    snaps = {s.symbol: s for s in okx_snapshots(T, funding.items, oi.items, marks.items)}
    btc = snaps["BTC-USDT-SWAP"]
    assert (btc.venue, btc.coin, btc.ts_ms, btc.predicted) == ("okx", "BTC", T, True)
    assert btc.funding_rate == 0.0000182221218054
    assert btc.settled_rate == 0.0000145824401745
    assert btc.next_funding_ms == 1743609600000
    assert btc.oi_base == 22161.1301 and btc.oi_usd == 1939251795.2
    assert btc.mark_price == 87500.1
    eth = snaps["ETH-USD-SWAP"]  # inverse: coin is ETH, oiCcy in ETH, oiUsd in USD
    assert eth.coin == "ETH" and eth.funding_interval_h == 4.0
    assert eth.rate_8h == pytest.approx(-0.0002)
    sol = snaps["SOL-USDT-SWAP"]  # open interest but no funding row
    assert sol.funding_rate is None and not sol.predicted and sol.mark_price is None
    assert sol.oi_usd == 1000.0


def test_bad_items_counted() -> None:
    body = json.dumps(
        okx_body(
            [
                {**DOC_FUNDING, "fundingRate": ""},
                {**DOC_FUNDING, "instId": None},
                "x",
                {**DOC_FUNDING, "instId": "ETH-USDT-SWAP", "fundingTime": "soon"},
            ]
        )
    )
    parsed = parse_funding_rates(body)
    assert parsed.rejects == 3
    assert parsed.items["ETH-USDT-SWAP"].interval_h is None
    oi = parse_open_interest(
        json.dumps(
            okx_body(
                [
                    {**DOC_OI, "oiCcy": "x", "oiUsd": "-1"},
                    {**DOC_OI, "instId": "A", "oi": "0", "oiCcy": "0", "oiUsd": "0"},
                ]
            )
        )
    )
    assert oi.rejects == 1
    assert oi.items["A"].oi_usd is None
    marks = parse_mark_prices(json.dumps(okx_body([{"instId": "A", "markPx": "0"}])))
    assert marks.rejects == 1 and not marks.items


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{",
        '{"code":"50011","msg":"Too Many Requests","data":[]}',
        '{"code":"0","data":{}}',
        "[]",
    ],
)
def test_unusable_bodies(body: str) -> None:
    assert parse_funding_rates(body).error is not None
    assert parse_open_interest(body).error is not None
    assert parse_mark_prices(body).error is not None
