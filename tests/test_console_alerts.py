"""Console mode's alerts: the default rules on real totals, printed as plain text."""

from bot.console_alerts import ConsoleAlerts, plain
from bot.events import MINUTE_MS
from bot.totals_index import TotalsIndex
from storage.buckets import BucketDelta

T0 = 1_791_590_400_000


def add(index: TotalsIndex, minute: int, usd: float, side: str = "long") -> None:
    key = (T0 + minute * MINUTE_MS, "bybit", "BTC", side)
    index.apply({key: BucketDelta(usd, 1, usd, key[0] + 1, "BTCUSDT")})


def console(index: TotalsIndex, now: list[int], out: list[str]) -> ConsoleAlerts:
    return ConsoleAlerts("1h=100M,24h=1B", lambda w: index.query(w, now_ms=now[0]), out.append)


def test_fires_once_escalates_and_a_restart_does_not_repeat() -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]
    add(index, 1, 40e6)
    alerts = console(index, now, out)
    alerts.prime(now[0])
    assert alerts.tick(now[0]) == 0

    add(index, 2, 80e6)  # 1h total $120M >= $100M
    assert alerts.tick(now[0]) == 1
    assert out[0].startswith("🚨 $120M liquidated in 1h")
    assert "<" not in out[0]  # plain text for the terminal
    assert alerts.tick(now[0] + 1000) == 0  # no repeat while it stays up

    add(index, 3, 90e6, "short")  # $210M: 2x the threshold -> one escalation
    assert alerts.tick(now[0] + 2000) == 1
    assert "$210M" in out[1]

    restarted, out2 = console(index, now, []), []
    restarted.emit = out2.append
    restarted.prime(now[0] + 3000)  # already at 2x: nothing printed again
    assert restarted.tick(now[0] + 3000) == 0 and out2 == []


def test_plain_strips_tags_and_entities() -> None:
    assert plain("<b>🚨 $1M</b> &amp; <i>more</i>") == "🚨 $1M & more"
