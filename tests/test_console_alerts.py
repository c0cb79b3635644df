"""Console mode's alerts: the default rules on real totals, printed as plain text."""

import html
import re

from bot.console_alerts import ConsoleAlerts
from bot.events import MINUTE_MS, WINDOWS
from bot.format_alert import format_alert
from bot.rules import FIRST, Fire, RuleSpec
from bot.totals_index import TotalsIndex
from storage.buckets import BucketDelta

T0 = 1_791_590_400_000


def add(index: TotalsIndex, minute: int, usd: float, side: str = "long") -> None:
    key = (T0 + minute * MINUTE_MS, "bybit", "BTC", side)
    index.apply({key: BucketDelta(usd, 1, usd, key[0] + 1, "BTCUSDT")})


def console(index: TotalsIndex, now: list[int], out: list[str]) -> ConsoleAlerts:
    rules = {"1h": 100e6, "24h": 1e9}
    return ConsoleAlerts(rules, lambda w: index.query(w, now_ms=now[0]), out.append)


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


def test_console_and_telegram_state_the_same_facts_in_the_same_words() -> None:
    index, out, now = TotalsIndex(), [], [T0 + 10 * MINUTE_MS]
    alerts = console(index, now, out)
    alerts.prime(now[0])
    add(index, 1, 119.4e6)  # all longs: the share is exactly 100%
    add(index, 2, 0.6e6, "short")  # 0.5% shorts: "<1%", which must be escaped in HTML
    assert alerts.tick(now[0]) == 1
    hour, day = (
        index.query(WINDOWS["1h"], now_ms=now[0]),
        index.query(WINDOWS["24h"], now_ms=now[0]),
    )
    telegram = format_alert(RuleSpec("1h", 100e6), Fire(FIRST, 1, 120e6, 100e6), hour, day)
    assert "(&lt;1%)" in telegram
    # Only the markup differs: the Telegram text without tags and entities is the console's.
    assert html.unescape(re.sub(r"<[^>]+>", "", telegram)) == out[0]
    lines = out[0].split("\n")
    assert lines[3] == "Longs $119.4M (>99%) · Shorts $600K (<1%) · 2 liquidations"
    # Prices were not looked up in console mode: no claim about them.
    assert "📉 Long squeeze: longs were >99% of it." in lines
    assert "price" not in out[0]
