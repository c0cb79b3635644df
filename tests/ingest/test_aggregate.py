import math

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import LONG, SHORT, Liquidation
from bot.ingest.aggregate import BucketDelta, bucket_deltas, bucket_key
from bot.venues.registry import VENUES

T0 = 1_791_590_400_000

events_st = st.lists(
    st.builds(
        lambda venue, coin, side, usd, offset: Liquidation(
            venue, f"{coin}USDT", coin, side, 1.0, usd, usd, T0 + offset
        ),
        st.sampled_from(VENUES),
        st.sampled_from(["BTC", "ETH", "SOL"]),
        st.sampled_from([LONG, SHORT]),
        st.floats(min_value=0.01, max_value=5e7, allow_nan=False, allow_infinity=False),
        st.integers(min_value=0, max_value=10 * 60_000),
    ),
    max_size=60,
)


def test_key_is_the_minute_floor() -> None:
    e = Liquidation("okx", "BTC-USDT-SWAP", "BTC", LONG, 1.0, 1.0, 1.0, T0 + 119_999)
    assert bucket_key(e) == (T0 + 60_000, "okx", "BTC", LONG)
    assert bucket_key(Liquidation("okx", "X", "BTC", SHORT, 1, 1, 1, T0 + 120_000))[0] == (
        T0 + 120_000
    )


def test_largest_keeps_first_on_ties_and_its_time_and_symbol() -> None:
    a = Liquidation("binance", "BTCUSDT", "BTC", LONG, 1, 1, 500.0, T0 + 1)
    b = Liquidation("binance", "BTCUSDC", "BTC", LONG, 1, 1, 900.0, T0 + 2)
    c = Liquidation("binance", "BTCUSDT_PERP", "BTC", LONG, 1, 1, 900.0, T0 + 3)
    assert bucket_deltas([a, b, c]) == {
        (T0, "binance", "BTC", LONG): BucketDelta(2300.0, 3, 900.0, T0 + 2, "BTCUSDC")
    }
    assert bucket_deltas([]) == {}


@given(events_st)
def test_deltas_match_independent_per_bucket_sums(events: list[Liquidation]) -> None:
    deltas = bucket_deltas(events)
    assert sum(d.count for d in deltas.values()) == len(events)
    for key, delta in deltas.items():
        mine = [e for e in events if bucket_key(e) == key]
        assert delta.count == len(mine)
        assert math.isclose(delta.usd, math.fsum(e.usd for e in mine), rel_tol=1e-12)
        top = max(mine, key=lambda e: e.usd)
        assert (delta.max_usd, delta.max_ts, delta.max_symbol) == (top.usd, top.ts_ms, top.symbol)
