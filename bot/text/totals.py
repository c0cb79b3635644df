"""Texts for the read-only commands (/liq, /top, /settings, /status, /help).

Telegram texts are HTML: every dynamic value goes through ``html.escape`` where it enters
the text, including the ones that look safe (``format_pct`` writes ``<1%``), and a tag
never spans a line, so :func:`fit_html` can cut a long text at a line boundary and keep it
valid. Plain-text console and CLI output lives in ``bot.text.console``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from bot.chats import ChatSettings
from bot.domain import HOUR_MS, WINDOWS, RuleSpec
from bot.market.context import MarketContext
from bot.text.coverage import coverage_sentence, down_banner, status_coverage
from bot.text.status import feed_error_words, poll_error_words
from bot.text.telegram import and_list, escape, utf16_len, venue_name
from bot.totals.coverage import COMPLETE_VENUES, VenueCoverage
from bot.totals.result import SideTotals, Totals
from bot.units import format_duration, format_pct, format_usd
from bot.venues.registry import display_names

MAX_MESSAGE: Final = 4096
_DAY_MS: Final = 24 * HOUR_MS


def fit_html(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` if it fits in ``limit``, else its first lines plus an ellipsis line.

    Counts the raw HTML, which is never shorter than what Telegram counts after parsing
    tags and entities; relies on tags never spanning lines.
    """
    if utf16_len(text) <= limit:
        return text
    out: list[str] = []
    used = utf16_len("…")
    for line in text.split("\n"):
        cost = utf16_len(line) + 1
        if used + cost > limit:
            break
        out.append(line)
        used += cost
    return "\n".join([*out, "…"])


def clock(ms: int, now_ms: int) -> str:
    """``14:03 UTC`` within the last day, else ``Oct 10 14:03 UTC``."""
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    if abs(now_ms - ms) < _DAY_MS:
        return t.strftime("%H:%M UTC")
    return t.strftime("%b %d %H:%M UTC")


def ago(ms: int, now_ms: int) -> str:
    """``2h 5m ago`` (``just now`` under a second)."""
    if now_ms - ms < 1000:
        return "just now"
    return f"{format_duration(now_ms - ms)} ago"


def _ratio(part: float, whole: float) -> float:
    """``part / whole``; NaN (shown as ``?%``) when there is no whole to divide by."""
    return part / whole if whole > 0 else math.nan


def _shares(t: SideTotals | Totals) -> str:
    total = t.total_usd
    if total <= 0:
        return ""
    return f"longs {escape(format_pct(t.long_usd / total))}"


def coverage_note(coverage: Mapping[str, VenueCoverage], venues: Iterable[str] = ()) -> str:
    """Plain text: which venues publish samples or everything, since when liqwatch has
    collected, which venues were down: the one coverage wording (``bot.text.coverage``)
    the alerts use too.

    Without coverage data the sampled/complete split comes from the venues' documentation.
    """
    return coverage_sentence(coverage, venues)


def _rule_line(spec: RuleSpec) -> str:
    coin = f"<b>{escape(spec.coin)}</b> " if spec.coin else ""
    return f"• {coin}{escape(spec.window)} ≥ {escape(format_usd(spec.threshold))}"


def format_rules(rules: Iterable[RuleSpec]) -> str:
    """One bullet line per rule: ``• 1h ≥ $100M`` / ``• BTC 1h ≥ $50M``."""
    return "\n".join(_rule_line(r) for r in rules)


def format_liq(
    main: Totals,
    beside: Sequence[Totals],
    now_ms: int,
    coin: str | None = None,
    top_n: int = 5,
    context: MarketContext | None = None,
) -> str:
    """/liq: total, long/short with shares, the other windows, venues, top coins, the
    largest liquidation, the market context (when given) and the coverage note."""
    what = f"{escape(coin)} liquidations" if coin else "Liquidations"
    lines = [escape(text) for text in down_banner(main.coverage)]
    lines.append(f"<b>💥 {what} · last {escape(main.window)}</b>")
    if main.count == 0:
        lines.append(f"None recorded in the last {escape(main.window)}.")
    else:
        total = main.total_usd
        lines.append(f"<b>{escape(format_usd(total))}</b> · {main.count:,} liquidations")
        longs = f"{format_usd(main.long_usd)} ({format_pct(_ratio(main.long_usd, total))})"
        shorts = f"{format_usd(main.short_usd)} ({format_pct(_ratio(main.short_usd, total))})"
        lines.append(f"🔴 Longs {escape(longs)} · 🟢 Shorts {escape(shorts)}")
    if beside:
        lines.append(
            " · ".join(f"{escape(t.window)} {escape(format_usd(t.total_usd))}" for t in beside)
        )
    if main.count:
        lines += ["", "<b>By exchange</b>"]
        ranked = sorted(main.by_exchange.items(), key=lambda kv: (-kv[1].total_usd, kv[0]))
        for venue, ex in ranked:
            share = f" · {_shares(ex)}" if ex.total_usd > 0 else ""
            lines.append(f"{escape(venue_name(venue))} {escape(format_usd(ex.total_usd))}{share}")
        if coin is None:
            lines += ["", "<b>Top coins</b>"]
            for i, (name, t) in enumerate(main.top_coins(top_n), 1):
                lines.append(
                    f"{i}. {escape(name)} {escape(format_usd(t.total_usd))} · {_shares(t)}"
                )
        if main.largest is not None:
            big = main.largest
            lines += [
                "",
                f"<b>Largest</b> {escape(format_usd(big.usd))} {escape(big.coin)}"
                f" {escape(big.side)} on {escape(venue_name(big.exchange))}"
                f" ({escape(big.symbol)}),"
                f" {escape(clock(big.ts_ms, now_ms))}, {escape(ago(big.ts_ms, now_ms))}",
            ]
    if context is not None:
        # The context is plain text (the alert renders the same words): escaped here.
        lines += ["", "<b>Market</b>", *map(escape, context.fact_lines())]
        lines.append(escape(context.reading))
    note = coverage_note(main.coverage, main.by_exchange)
    if note:
        lines += ["", f"<i>{escape(note)}</i>"]
    return "\n".join(lines)


def format_top(totals: Totals, limit: int = 20) -> str:
    """/top: coins ranked by USD liquidated in the window, with side shares and counts."""
    lines = [f"<b>🏆 Top coins · last {escape(totals.window)}</b>"]
    if totals.count == 0:
        lines.append(f"No liquidations recorded in the last {escape(totals.window)}.")
    else:
        lines.append(
            f"{escape(format_usd(totals.total_usd))} in all · {len(totals.by_coin)} coins"
        )
        lines.append("")
        for i, (name, t) in enumerate(totals.top_coins(limit), 1):
            lines.append(
                f"{i}. <b>{escape(name)}</b> {escape(format_usd(t.total_usd))} · {_shares(t)}"
                f" · {t.count:,}"
            )
    note = coverage_note(totals.coverage, totals.by_exchange)
    if note:
        lines += ["", f"<i>{escape(note)}</i>"]
    return "\n".join(lines)


def format_settings(
    settings: ChatSettings | None,
    now_ms: int,
    default_rules: Mapping[str, float],
    max_watches: int,
    funding_alert: float | None = None,
) -> str:
    """/settings: subscription, mute, market thresholds, watches and the funding alert
    (``funding_alert``: the 8 h-equivalent magnitude, None when off)."""
    if settings is None:
        defaults = format_rules(RuleSpec(w, t) for w, t in default_rules.items())
        text = "This chat is not subscribed. /start subscribes it"
        return f"{text} with these alerts:\n{defaults}" if defaults else f"{text}."
    chat = settings.chat
    lines = ["<b>⚙️ Settings of this chat</b>"]
    if not chat.subscribed:
        lines.append("Alerts: off (/start turns them on; settings below are kept)")
    elif not chat.active:
        lines.append("Alerts: paused, the bot could not write here (/start resumes)")
    else:
        lines.append("Alerts: on")
    if chat.muted(now_ms) and chat.muted_until_ms is not None:
        until = clock(chat.muted_until_ms, now_ms)
        left = format_duration(chat.muted_until_ms - now_ms)
        lines.append(f"Muted until {escape(until)} ({escape(left)} left; /unmute ends it)")
    lines += ["", "<b>Market-wide thresholds</b>"]
    market = [r.spec for r in settings.market]
    lines.append(format_rules(market) if market else "None (set one: /threshold 1h 250M)")
    watches = [r.spec for r in settings.watches]
    lines += ["", f"<b>Watches</b> ({len(watches)} of {max_watches})"]
    lines.append(format_rules(watches) if watches else "None (add one: /watch BTC 50M 1h)")
    lines += ["", "<b>Funding alert</b>"]
    if funding_alert is None:
        lines.append("Off (set one: /fundingalert 0.1%)")
    else:
        level = f"±{funding_alert * 100:.4f}%/8h"
        lines.append(f"At {escape(level)} OI-weighted (/fundingalert off)")
    return "\n".join(lines)


def format_status(
    venues: Sequence[str],
    health: Mapping[str, Mapping[str, Any]],
    last_hour: Totals,
    coverage: Mapping[str, VenueCoverage],
    now_ms: int,
    market_health: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """/status: per venue, connection, last message age, liquidations in the last hour,
    rejects, reconnects, refused topics, 24 h coverage (``health`` maps venue ->
    ``snapshot()``) and, when given, the funding / open-interest poll
    (``MarketPoller.snapshot()``). Errors are said in words; their detail is in the log."""
    lines = ["<b>📡 Feed status</b>"]
    for venue in venues:
        name = escape(venue_name(venue))
        snap = health.get(venue)
        if snap is None:
            lines += ["", f"⚪ <b>{name}</b> not running"]
            continue
        if snap.get("live"):
            since = snap.get("connected_since")
            state = "connected" if since is None else f"connected since {clock(since, now_ms)}"
            lines += ["", f"🟢 <b>{name}</b> {state}"]
        else:
            down = snap.get("down_since")
            state = "down" if down is None else f"down since {clock(down, now_ms)}"
            lines += ["", f"🔴 <b>{name}</b> {state}"]
            if snap.get("last_error"):
                lines.append(f"Last error: {escape(feed_error_words(str(snap['last_error'])))}")
        ex = last_hour.by_exchange.get(venue)
        lines.append(
            f"{escape(_last_message(snap, now_ms))}"
            f" · {ex.count if ex else 0:,} liquidations in the last hour"
        )
        dropped = int(snap.get("dropped_topics") or 0)
        refused = f" · {dropped:,} topic{'' if dropped == 1 else 's'} refused" if dropped else ""
        lines.append(
            f"Rejected {int(snap.get('rejects') or 0):,} · reconnects"
            f" {int(snap.get('reconnects') or 0):,}{refused}"
        )
        cov = coverage.get(venue)
        complete = cov.complete if cov is not None else venue in COMPLETE_VENUES
        feed = "all liquidations" if complete else "a sample of liquidations"
        if dropped:
            feed = "all liquidations but those of the refused topics (partial)"
        if cov is None:
            lines.append(f"Publishes {feed}")
        else:
            lines.append(f"Publishes {feed} · {escape(status_coverage(cov, '24h'))}")
        if market_health is not None:
            lines.append(_poll_line(market_health.get(venue), now_ms))
    return "\n".join(lines)


def _poll_line(poll: Mapping[str, Any] | None, now_ms: int) -> str:
    """One /status line for a venue's funding / open-interest poll."""
    if poll is None:
        return "Funding/OI: not polled"
    last_ok = poll.get("last_ok_ms")
    text = (
        "Funding/OI: never polled yet"
        if last_ok is None
        else f"Funding/OI: {ago(last_ok, now_ms)}"
    )
    if poll.get("streak"):
        error = poll_error_words(str(poll.get("last_error") or "")) or "failing"
        text += f" · failing {int(poll['streak'])}× ({escape(error)})"
    return text


def _last_message(snap: Mapping[str, Any], now_ms: int) -> str:
    """``Last message 2s ago``; before the first one, since when this process has waited:
    last-message times are not kept across restarts."""
    last = snap.get("last_message_ms")
    if last is not None:
        return f"Last message {ago(int(last), now_ms)}"
    started = snap.get("started_ms")
    if started is None:
        return "No message yet"
    return f"No message since the restart at {clock(int(started), now_ms)}"


def format_help(commands: Iterable[tuple[str, str]], max_watches: int) -> str:
    """/help: what the bot does, each command (syntax, description) and the input formats."""
    lines = [
        "<b>liqwatch</b> follows crypto-futures liquidations on"
        f" {escape(and_list(display_names()))} and alerts this chat when they spike.",
        "",
    ]
    lines += [f"{escape(syntax)} — {escape(text)}" for syntax, text in commands]
    windows = escape(" ".join(w for w in WINDOWS if w != "7d"))
    lines += [
        "",
        "Amounts: 250M, 1.5B, 750K, $250M or 250000000.",
        f"Windows: {windows} (/liq and /top also 7d). Coins: BTC, btc or BTCUSDT.",
        f"Up to {int(max_watches)} watched coins per chat. In groups only administrators"
        " change settings.",
        "An alert fires when a window total reaches your threshold, again at 2×, 4×, 8×,"
        " and re-arms once the total falls below 80% of it.",
    ]
    return "\n".join(lines)
