"""The bot's commands as data: name, arguments, an example and who may run them.

One place for the usage lines the replies quote, the /help text and the list registered
with Telegram (``set_my_commands``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    """One command. ``admin_only``: in groups, only administrators may change with it."""

    name: str
    args: str
    example: str
    description: str
    admin_only: bool = False

    @property
    def syntax(self) -> str:
        """``/threshold WINDOW AMOUNT``."""
        return f"/{self.name} {self.args}".rstrip()

    @property
    def usage(self) -> str:
        """``/threshold WINDOW AMOUNT — e.g. /threshold 1h 250M`` (plain text)."""
        return f"{self.syntax} — e.g. {self.example}" if self.example else self.syntax


START = Command("start", "", "", "Subscribe this chat to liquidation alerts", admin_only=True)
STOP = Command("stop", "", "", "Stop alerts (your settings are kept)", admin_only=True)
LIQ = Command("liq", "[COIN] [WINDOW]", "/liq BTC 4h", "Liquidation totals (default 24h)")
TOP = Command("top", "[WINDOW]", "/top 1h", "Coins ranked by liquidations (default 24h)")
FUNDING = Command(
    "funding", "[COIN]", "/funding BTC", "Funding rates per exchange (no coin: the extremes)"
)
OI = Command("oi", "[COIN]", "/oi BTC", "Open interest per exchange (no coin: biggest moves)")
THRESHOLD = Command(
    "threshold",
    "WINDOW AMOUNT",
    "/threshold 1h 250M",
    "Show or set market-wide alert thresholds",
    admin_only=True,
)
WATCH = Command(
    "watch",
    "COIN AMOUNT [WINDOW]",
    "/watch BTC 50M 1h",
    "Alert on one coin (no arguments: list watches)",
    admin_only=True,
)
UNWATCH = Command("unwatch", "COIN", "/unwatch BTC", "Stop watching a coin", admin_only=True)
FUNDINGALERT = Command(
    "fundingalert",
    "RATE",
    "/fundingalert 0.1%",
    "Alert when funding (8h) of top or watched coins reaches a rate; off stops it",
    admin_only=True,
)
MUTE = Command("mute", "DURATION", "/mute 2h", "Pause alerts (30m, 2h, 1d)", admin_only=True)
UNMUTE = Command("unmute", "", "", "Resume alerts", admin_only=True)
SETTINGS = Command("settings", "", "", "Everything this chat has set")
STATUS = Command("status", "", "", "Feed health and coverage per exchange")
HELP = Command("help", "", "", "How to use the bot")

CATALOG: tuple[Command, ...] = (
    LIQ,
    TOP,
    FUNDING,
    OI,
    THRESHOLD,
    WATCH,
    UNWATCH,
    FUNDINGALERT,
    MUTE,
    UNMUTE,
    SETTINGS,
    STATUS,
    START,
    STOP,
    HELP,
)

COMMANDS: list[tuple[str, str]] = [(c.name, c.description) for c in CATALOG]
"""(name, description) for ``set_my_commands``, in menu order."""
