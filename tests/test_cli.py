"""The ``liqwatch`` command line, run in-process on a real SQLite file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main

T0 = 1_791_590_400_000  # 2026-10-10 00:00 UTC, a minute boundary

OKX_INSTRUMENTS = {
    "code": "0",
    "msg": "",
    "data": [
        {
            "instId": "BTC-USDT-SWAP",
            "ctVal": "0.01",
            "ctMult": "1",
            "ctType": "linear",
            "ctValCcy": "BTC",
            "state": "live",
            "instType": "SWAP",
        },
        {
            "instId": "ETH-USD-SWAP",
            "ctVal": "10",
            "ctMult": "1",
            "ctType": "inverse",
            "ctValCcy": "USD",
            "state": "live",
            "instType": "SWAP",
        },
    ],
}


def binance(ts: int, side: str, z: str, ap: str, symbol: str = "BTCUSDT") -> dict[str, object]:
    order = {
        "s": symbol,
        "S": side,
        "o": "LIMIT",
        "f": "IOC",
        "q": z,
        "p": ap,
        "ap": ap,
        "X": "FILLED",
        "l": z,
        "z": z,
        "T": ts,
    }
    return {"stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": ts + 1000, "o": order}}


def write_recording(path: Path) -> dict[str, Decimal]:
    """A small recording of all three venues; returns the expected USD per side."""
    lines: list[dict[str, object]] = [
        {
            "venue": "okx",
            "recv_ms": T0,
            "rest": "/api/v5/public/instruments?instType=SWAP",
            "body": json.dumps(OKX_INSTRUMENTS),
        },
    ]
    expected = {"long": Decimal(0), "short": Decimal(0)}

    def ws(venue: str, ts: int, message: object) -> None:
        lines.append({"venue": venue, "recv_ms": ts + 50, "ws": json.dumps(message)})

    # Binance: order SELL => a long was liquidated; USD = z * ap.
    ws("binance", T0 + 10_000, binance(T0 + 10_000, "SELL", "0.5", "64000.5"))
    expected["long"] += Decimal("0.5") * Decimal("64000.5")
    ws("binance", T0 + 70_000, binance(T0 + 70_000, "BUY", "12", "3100.25", "ETHUSDT"))
    expected["short"] += Decimal("12") * Decimal("3100.25")
    # Bybit: POSITION side Buy => a long was liquidated; USD = v * p; several per message.
    bybit = {
        "topic": "allLiquidation.BTCUSDT",
        "type": "snapshot",
        "ts": T0 + 20_500,
        "data": [
            {"T": T0 + 20_000, "s": "BTCUSDT", "S": "Buy", "v": "0.25", "p": "63990"},
            {"T": T0 + 20_100, "s": "BTCUSDT", "S": "Sell", "v": "1.5", "p": "64010.5"},
        ],
    }
    ws("bybit", T0 + 20_500, bybit)
    expected["long"] += Decimal("0.25") * Decimal("63990")
    expected["short"] += Decimal("1.5") * Decimal("64010.5")
    # OKX linear: sz * ctVal * ctMult * bkPx; inverse: sz * ctVal * ctMult (USD).
    okx = {
        "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
        "data": [
            {
                "instId": "BTC-USDT-SWAP",
                "instType": "SWAP",
                "details": [
                    {
                        "bkPx": "63950.1",
                        "posSide": "net",
                        "side": "sell",
                        "sz": "30",
                        "ts": str(T0 + 30_000),
                        "bkLoss": "0",
                        "ccy": "",
                    }
                ],
            },
            {
                "instId": "ETH-USD-SWAP",
                "instType": "SWAP",
                "details": [
                    {
                        "bkPx": "3099.9",
                        "posSide": "short",
                        "side": "buy",
                        "sz": "7",
                        "ts": str(T0 + 40_000),
                        "bkLoss": "0",
                        "ccy": "",
                    }
                ],
            },
        ],
    }
    ws("okx", T0 + 40_000, okx)
    expected["long"] += Decimal("30") * Decimal("0.01") * Decimal("63950.1")
    expected["short"] += Decimal("7") * Decimal("10")
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    return expected


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    db = tmp_path / "data" / "test.db"
    monkeypatch.setenv("LIQWATCH_DB", str(db))
    return db


def test_replay_then_totals_json_is_exact(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "rec.jsonl"
    expected = write_recording(recording)
    assert main(["replay", str(recording)]) == 0
    out = capsys.readouterr().out
    assert "6 liquidations stored" in out
    assert "1 malformed" in out

    assert main(["totals", "--window", "1h", "--at", str(T0 + 60 * 60_000), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "window",
        "start_ms",
        "end_ms",
        "total_usd",
        "long_usd",
        "short_usd",
        "count",
        "by_exchange",
        "by_coin",
        "largest",
        "coverage",
    }
    assert data["window"] == "1h"
    assert (data["start_ms"], data["end_ms"]) == (T0, T0 + 3_600_000)
    assert data["count"] == 6
    assert data["long_usd"] == pytest.approx(float(expected["long"]), abs=0.005)
    assert data["short_usd"] == pytest.approx(float(expected["short"]), abs=0.005)
    assert data["total_usd"] == pytest.approx(
        float(expected["long"] + expected["short"]), abs=0.005
    )
    assert set(data["by_exchange"]) == {"binance", "bybit", "okx"}
    assert data["by_exchange"]["okx"]["short_usd"] == pytest.approx(70.0)
    assert set(data["by_coin"]) == {"BTC", "ETH"}
    assert set(data["by_coin"]["BTC"]) == {"total_usd", "long_usd", "short_usd", "count"}
    largest = data["largest"]
    assert set(largest) == {"exchange", "coin", "side", "usd", "ts_ms"}
    assert (largest["exchange"], largest["coin"], largest["side"]) == ("bybit", "BTC", "short")
    assert largest["usd"] == pytest.approx(1.5 * 64010.5)
    assert set(data["coverage"]) == {"binance", "bybit", "okx"}
    assert data["coverage"]["bybit"]["complete"] is True
    assert data["coverage"]["binance"]["complete"] is False

    # One coin only, and a window that ends before the second Binance print (T0+70 s).
    assert (
        main(["totals", "--window", "5m", "--coin", "ethusdt", "--at", str(T0 + 60_000), "--json"])
        == 0
    )
    eth = json.loads(capsys.readouterr().out)
    assert list(eth["by_coin"]) == ["ETH"]
    assert eth["count"] == 1  # only the OKX ETH print at T0+40 s
    assert eth["short_usd"] == pytest.approx(70.0)


def test_totals_text_output(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = tmp_path / "rec.jsonl"
    write_recording(recording)
    assert main(["replay", str(recording)]) == 0
    capsys.readouterr()
    assert main(["totals", "--at", str(T0 + 3_600_000)]) == 0
    text = capsys.readouterr().out
    assert "Liquidations 24h" in text
    assert "6 liquidations" in text
    assert "largest:" in text and "bybit" in text


def test_bad_configuration_is_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LIQWATCH_EXCHANGES", "binance,ftx")
    assert main(["totals"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "LIQWATCH_EXCHANGES" in err and "ftx" in err


def test_missing_inputs_are_explained(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "nope.jsonl"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["totals"]) == 2
    assert "no database" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["totals", "--window", "3h"])
    assert "invalid choice" in capsys.readouterr().err


def test_totals_json_coverage_counts_a_live_outage_and_time_not_collected(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh install running for 20 minutes whose OKX feed dropped 5 minutes ago and is
    still down, read by `totals --json` while the process runs (issue 7)."""
    import time

    from storage.db import open_db
    from storage.runs import extend_run, open_run
    from storage.uptime import close_interval, extend_intervals, open_interval

    now = int(time.time() * 1000)
    started = now - 20 * 60_000
    db = open_db(env)
    run = open_run(db, started)
    extend_run(db, run, now - 10_000)  # the running process extended it 10 s ago
    open_ids = [open_interval(db, venue, started) for venue in ("binance", "bybit")]
    extend_intervals(db, open_ids, now - 10_000)
    close_interval(db, open_interval(db, "okx", started), now - 5 * 60_000)
    db.close()

    assert main(["totals", "--window", "1h", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    coverage = data["coverage"]
    for venue in ("binance", "bybit", "okx"):
        assert list(coverage[venue]) == ["live", "complete", "gaps", "down_ms", "not_collected_ms"]
        assert coverage[venue]["not_collected_ms"] == started - data["start_ms"]
        assert coverage[venue]["live"] is False
    assert coverage["binance"]["down_ms"] == 0
    assert coverage["bybit"]["gaps"] == [[data["start_ms"], started]]
    # The outage counts up to now, not only after a restart.
    assert 5 * 60_000 <= coverage["okx"]["down_ms"] < 5 * 60_000 + 30_000
    assert coverage["okx"]["gaps"][-1][0] == now - 5 * 60_000
