"""Replay through the real venue parsers into a real database, checked against totals
computed here, independently, from the wire fields of the same file (Decimal, each venue's
documented rule and side convention)."""

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.generate import generate
from bot.config import Settings
from bot.domain import HOUR_MS, LONG, MINUTE_MS, SHORT, WINDOWS
from bot.ingest.ingestor import Ingestor
from bot.ingest.replay import _Replayer, replay
from bot.totals.index import TotalsIndex
from bot.venues import make_source
from bot.venues.base import VenueSource
from bot.venues.registry import VENUES
from storage.buckets import read_buckets
from storage.db import DbThread
from storage.uptime import read_uptime


def sources() -> dict[str, VenueSource]:
    return {name: make_source(name, Settings()) for name in VENUES}


Wire = tuple[str, str, Decimal, int]  # (venue, side, usd, ts_ms)


def wire_events(path: Path) -> list[Wire]:
    """Every liquidation in the file, read straight from the venue payloads."""
    contracts: dict[str, tuple[str, Decimal]] = {}
    out: list[Wire] = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or rec.get("venue") not in VENUES or "recv_ms" not in rec:
            continue
        if "rest" in rec and "body" in rec:
            if rec["venue"] == "okx":
                for inst in json.loads(rec["body"])["data"]:
                    ct = Decimal(inst["ctVal"]) * Decimal(inst["ctMult"])
                    contracts[inst["instId"]] = (inst["ctType"], ct)
            continue
        msg = json.loads(rec["ws"]) if rec.get("ws", "pong") != "pong" else {}
        if rec["venue"] == "binance" and "data" in msg:
            o = msg["data"]["o"]  # order side: SELL closes a long
            side = LONG if o["S"] == "SELL" else SHORT
            out.append(("binance", side, Decimal(o["z"]) * Decimal(o["ap"]), o["T"]))
        elif rec["venue"] == "bybit" and "topic" in msg:
            for d in msg["data"]:  # position side: Buy is a long liquidated
                side = LONG if d["S"] == "Buy" else SHORT
                out.append(("bybit", side, Decimal(d["v"]) * Decimal(d["p"]), d["T"]))
        elif rec["venue"] == "okx" and "data" in msg:
            for item in msg["data"]:
                ct_type, ct = contracts[item["instId"]]
                for d in item["details"]:
                    if d["posSide"] in (LONG, SHORT):
                        side = d["posSide"]
                    else:
                        side = LONG if d["side"] == "sell" else SHORT
                    usd = Decimal(d["sz"]) * ct
                    if ct_type == "linear":
                        usd *= Decimal(d["bkPx"])
                    out.append(("okx", side, usd, int(d["ts"])))
    return out


def window_sums(events: list[Wire], start: int, end: int) -> dict[str, Decimal]:
    sums = {LONG: Decimal(0), SHORT: Decimal(0)}
    for _venue, side, usd, ts in events:
        if start <= ts < end:
            sums[side] += usd
    return sums


# Lines the replay must count and skip without stopping.
EXTRA = [
    "this is not json",
    json.dumps({"venue": "okx", "ws": "{}"}),  # no recv_ms
    json.dumps({"venue": "kraken", "recv_ms": 1, "ws": "{}"}),  # venue not replayed
    json.dumps({"venue": "okx", "recv_ms": 2, "rest": "/x"}),  # REST line without a body
    "",
]


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "replay.jsonl"
    # ~30 h of recorded time, so the 1 h and 24 h windows really differ.
    generate(path, 3_000, seed=7, n_alts=40, events_per_s=3_000 / (30 * 3600))
    lines = path.read_text().splitlines()
    control = [
        json.dumps({"venue": "okx", "recv_ms": json.loads(lines[2])["recv_ms"], "ws": "pong"}),
        json.dumps({"venue": "bybit", "recv_ms": json.loads(lines[3])["recv_ms"], "ws": "{}"}),
    ]
    path.write_text("\n".join([*lines[:3], *EXTRA, *control, *lines[3:]]) + "\n")
    return path


@pytest.fixture
async def dbt(tmp_path: Path) -> AsyncIterator[DbThread]:
    dbt = DbThread(tmp_path / "liq.db")
    yield dbt
    await dbt.close()


async def test_replay_totals_match_the_wire(replay_file: Path, dbt: DbThread) -> None:
    expected = wire_events(replay_file)
    index = TotalsIndex()
    stats = await replay(replay_file, sources(), Ingestor(dbt, index))

    assert stats.events == stats.committed == len(expected) >= 3_000
    assert stats.rejects == 1  # the bybit "{}" message: valid JSON, no topic or op
    assert (stats.malformed, stats.skipped, stats.control, stats.rest_lines) == (3, 1, 1, 2)

    last_ts = max(ts for *_, ts in expected)
    end = -(-last_ts // MINUTE_MS) * MINUTE_MS + MINUTE_MS  # whole minute after the last
    for window in ("1h", "24h"):
        start = end - WINDOWS[window]
        want = window_sums(expected, start, end)
        got = index.query(WINDOWS[window], end)
        assert float(want[LONG]) == pytest.approx(got.long_usd, rel=1e-9)
        assert float(want[SHORT]) == pytest.approx(got.short_usd, rel=1e-9)
        rows = await dbt.run(read_buckets, start, end)
        stored = {side: sum(r[4] for r in rows if r[3] == side) for side in (LONG, SHORT)}
        assert float(want[LONG]) == pytest.approx(stored[LONG], rel=1e-9)
        assert float(want[SHORT]) == pytest.approx(stored[SHORT], rel=1e-9)
        count = sum(1 for *_, ts in expected if start <= ts < end)
        assert got.long_count + got.short_count == sum(r[5] for r in rows) == count
    day = window_sums(expected, end - WINDOWS["24h"], end)
    hour = window_sums(expected, end - HOUR_MS, end)
    assert day[LONG] > hour[LONG] > 0  # the windows are not trivially equal

    uptime = await dbt.run(read_uptime, 0, 2**62)
    assert sorted(uptime) == sorted((v, *span) for v, span in stats.spans.items())
    assert {v for v, *_ in uptime} == set(VENUES)


async def test_paced_replay_sleeps_and_commits_on_schedule(tmp_path: Path, dbt: DbThread) -> None:
    path = tmp_path / "paced.jsonl"
    src = tmp_path / "src.jsonl"
    generate(src, 40, seed=3, n_alts=5)
    lines = [json.loads(x) for x in src.read_text().splitlines()]
    base = lines[0]["recv_ms"]
    for i, rec in enumerate(lines):  # REST at 0, then one message every 100 ms
        rec["recv_ms"] = base + max(0, i - 1) * 100
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    recorded = (len(lines) - 2) * 100 / 1000  # seconds of recorded time

    batches: list[float] = []
    ingestor = Ingestor(dbt, listeners=[lambda d: batches.append(time.monotonic())])
    started = time.monotonic()
    stats = await replay(path, sources(), ingestor, speed=8.0, flush_every_s=0.1)
    elapsed = time.monotonic() - started

    assert elapsed >= recorded / 8 * 0.95
    assert stats.committed == stats.events > 0
    assert len(batches) >= 2  # committed during the replay, not only at the end


@given(
    text=st.text(max_size=80),
    recv_ms=st.integers(min_value=-5, max_value=2**53),
    spaced=st.booleans(),
    extra=st.sampled_from([None, "tail", "dup"]),
)
def test_line_decoding_agrees_with_json_loads(
    text: str, recv_ms: int, spaced: bool, extra: str | None
) -> None:
    record: dict[str, object] = {"venue": "okx", "recv_ms": recv_ms, "ws": text}
    line = json.dumps(record, separators=(", ", ": ") if spaced else (",", ":"))
    if extra == "tail":
        line = line[:-1] + ', "note": 1}'
    elif extra == "dup":
        line = line[:-1] + ', "ws": "second"}'
    replayer = _Replayer({"okx": None}, Ingestor(None), None, 0.0, 1.0, 1)  # type: ignore[arg-type]

    decoded = replayer.decode(line + "\n")

    reference = json.loads(line)
    assert decoded is not None
    assert decoded[:3] == ("okx", reference["recv_ms"], reference["ws"])
