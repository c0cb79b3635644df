"""Seeded fuzzing of the bot's commands: updates of every kind a chat can produce.

:class:`UpdateFuzzer` pushes raw updates into a :class:`FakeBotApi` (random unicode, texts
up to Telegram's 4,096 UTF-16 units, HTML and markdown injection, RTL and zero-width
characters, ``/cmd@OtherBot`` and ``/cmd@<our bot>``, every command with random arguments,
edited messages, captions on photos, stickers, channel posts, callback queries, group
members who are not administrators, anonymous posts as a foreign channel, the bot blocked
and unblocked, and group-to-supergroup migrations). For every update it records whether
the bot must answer it exactly once (a command addressed to us, in a message or channel
post) or not at all, so a test can check that nothing went silent and nothing was
answered twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.fakes.bot_api import FakeBotApi
from bench.fakes.bot_api_shapes import command_entities
from bench.fakes.chat_bot import ChatBot
from handlers import COMMANDS
from storage import chats as store
from storage import funding_alerts

OTHER_BOT = "SomeOtherBot"
ADMIN = 900
NON_ADMINS = (901, 902, 903, 904)
PRIVATE = tuple(range(10, 40))
# Groups where only non-administrators speak during the fuzz: their settings must not move.
GUARDED = (-1002001, -1002002, -4001)
CHANNELS = (-1003001, -1003002)
FOREIGN_CHANNEL = -1009999
# Basic groups that get upgraded to supergroups during the fuzz: old id -> new id.
MIGRATING = {-5001: -1005001, -5002: -1005002, -5003: -1005003}
GROUP_SETUP = ("/start", "/threshold 1h 5M", "/watch BTC 1M 4h", "/fundingalert 0.1%", "/mute 2h")

AMOUNTS = (
    "250M", "1.5B", "$750K", "750k", "0", "-5M", "1e9", "1e400", "NaN", "inf", "-inf",
    "250,000,000", "1T", ".5", "５０M", "٣٠٠M", "1_000", "0x10", "$", "M", "2.5b", "99999999999B",
)  # fmt: skip
WINDOWS = ("5m", "15m", "1h", "4h", "12h", "24h", "7d", "1H", "0m", "3h", "60m", "1d", "٤h")
COINS = (
    "BTC",
    "btc",
    "BTCUSDT",
    "ETH-USDT-SWAP",
    "SOL",
    "XRP",
    "xrpusdt",
    "XYZ",
    "B\u200bTC",
    "<b>",
    "1000PEPE",
)
DURATIONS = ("30m", "2h", "1d", "0s", "999d", "-1h", "1.5h", "90", "forever")
RATES = ("0.1%", "0.05", "1%", "-0.1%", "off", "0", "200%", "NaN%")
INJECTION = (
    "<b>", "</i>", "&", "&amp;", "<1%", ">99%", "*_[", "`code`", "[x](http://e.com)",
    "<a href='x'>",
    "\u202e", "\u200f", "\u200b", "\u200d", "\ufeff", "\u0301", "שלום", "مرحبا", "🚀", "🇺🇸",
    "@everyone", "\\", "'\"", "<script>", "&#0;", "%s", "{0}", "\n", "\t",
)  # fmt: skip
WORDS = AMOUNTS + WINDOWS + COINS + DURATIONS + RATES + INJECTION + ("off", "none", "@bot")


@dataclass
class Pushed:
    """One update pushed: its kind, chat, message id, and how many replies it is owed
    (0 or 1)."""

    kind: str
    chat_id: int
    message_id: int | None
    text: str
    replies_owed: int


@dataclass
class UpdateFuzzer:
    """Generates and pushes updates; ``commands`` are the bot's command names."""

    fake: FakeBotApi
    commands: Sequence[str]
    rng: random.Random
    pushed: list[Pushed] = field(default_factory=list)
    migrated: dict[int, int] = field(default_factory=dict)

    # -- text ----------------------------------------------------------------------------

    def junk(self, max_len: int = 40) -> str:
        """Random unicode (no lone surrogates: Telegram text is valid UTF-16)."""
        n = self.rng.randint(1, max_len)
        pools = ((0x20, 0x7E), (0xA0, 0x24F), (0x590, 0x6FF), (0x2000, 0x206F),
                 (0x4E00, 0x4E80), (0x1F300, 0x1F64F), (0xFE00, 0xFEFF))  # fmt: skip
        chars = []
        for _ in range(n):
            lo, hi = self.rng.choice(pools)
            chars.append(chr(self.rng.randint(lo, hi)))
        return "".join(chars)

    def arg(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            word = self.rng.choice(WORDS)
        elif roll < 0.9:
            word = self.junk(12)
        else:
            word = self.rng.choice(WORDS) + self.rng.choice(INJECTION) + self.rng.choice(WORDS)
        return word

    def command_text(self) -> str:
        name = self.rng.choice(self.commands)
        if self.rng.random() < 0.1:
            name = name.upper()
        target = ""
        roll = self.rng.random()
        if roll < 0.1:
            target = f"@{OTHER_BOT}"
        elif roll < 0.2:
            target = "@" + self.fake.bot_user["username"]
        elif roll < 0.22:
            target = "@" + self.fake.bot_user["username"].upper()
        args = [self.arg() for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3, 4)))]
        sep = self.rng.choice((" ", " ", "  ", "\n", " \u200b "))
        text = f"/{name}{target}" + "".join(sep + a for a in args)
        if self.rng.random() < 0.03:
            text = _fit(text + " " + self.long_text())
        return text

    def long_text(self) -> str:
        """4,000+ UTF-16 units of mixed text, cut to Telegram's 4,096."""
        parts: list[str] = []
        while sum(len(p) for p in parts) < 4200:
            parts.append(self.rng.choice(WORDS) if self.rng.random() < 0.6 else self.junk(30))
        return _fit(" ".join(parts))

    def plain_text(self) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return self.long_text()
        if roll < 0.3:
            return "/unknowncommand " + self.arg()
        text = " ".join(self.arg() for _ in range(self.rng.randint(1, 6)))
        return text if text.strip() else "…"

    # -- updates -------------------------------------------------------------------------

    def push_random(self) -> Pushed:
        """Push one update of a random kind; returns what was pushed."""
        roll = self.rng.random()
        if roll < 0.40:
            return self.message(self.rng.choice(PRIVATE), self.command_text())
        if roll < 0.47:
            return self.message(self.rng.choice(PRIVATE), self.plain_text())
        if roll < 0.65:
            chat = self.rng.choice(GUARDED)
            user = self.rng.choice(NON_ADMINS)
            return self.message(chat, self.command_text(), user_id=user)
        if roll < 0.68:
            return self.message(
                self.rng.choice(GUARDED), self.command_text(), sender_chat=FOREIGN_CHANNEL
            )
        if roll < 0.73:
            return self.message(self.rng.choice(CHANNELS), self.command_text(), channel=True)
        if roll < 0.80:
            return self.message(self.rng.choice(PRIVATE), self.command_text(), edited=True)
        if roll < 0.84:
            return self.media(self.rng.choice(PRIVATE + GUARDED), "photo")
        if roll < 0.88:
            return self.media(self.rng.choice(PRIVATE + GUARDED), "sticker")
        if roll < 0.94:
            return self.callback(self.rng.choice(PRIVATE + GUARDED))
        if roll < 0.98:
            chat = self.rng.choice(PRIVATE)
            status = self.rng.choice(("kicked", "member"))
            self.fake.push_bot_status(chat, status)
            return self._record("my_chat_member", chat, None, status, 0)
        return self.migration()

    def message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        sender_chat: int | None = None,
        channel: bool = False,
        edited: bool = False,
    ) -> Pushed:
        """A text message (or channel post, or edit); owed one reply if it is a command
        for us in a message or channel post."""
        message = self._message_json(chat_id, user_id, channel)
        message["text"] = text
        if entities := command_entities(text):
            message["entities"] = entities
        if sender_chat is not None:
            message["sender_chat"] = {"id": sender_chat, "type": "channel", "title": "Other"}
        if edited:
            message["edit_date"] = message["date"] + 5
        kind = "edited_message" if edited else ("channel_post" if channel else "message")
        self.fake.push_update({kind: message})
        owed = 0 if edited else int(self.addressed_to_us(text, chat_id > 0 and not channel))
        return self._record(kind, chat_id, message["message_id"], text, owed)

    def media(self, chat_id: int, what: str) -> Pushed:
        """A photo with a command-like caption, or a sticker: nothing to answer."""
        message = self._message_json(chat_id, ADMIN if chat_id < 0 else None, False)
        if what == "photo":
            message["photo"] = [
                {"file_id": f"p{k}", "file_unique_id": f"u{k}", "width": 90 * k, "height": 90 * k}
                for k in (1, 2)
            ]
            caption = self.command_text()[:1024]
            message["caption"] = caption
            message["caption_entities"] = command_entities(caption)
        else:
            message["sticker"] = {
                "file_id": "s1", "file_unique_id": "su1", "width": 512, "height": 512,
                "is_animated": False, "is_video": False, "type": "regular", "emoji": "🔥",
            }  # fmt: skip
        self.fake.push_update({"message": message})
        return self._record(what, chat_id, message["message_id"], message.get("caption", ""), 0)

    def callback(self, chat_id: int) -> Pushed:
        """An inline-button press with random data (the bot has no buttons)."""
        data = self.rng.choice(("liq:24h", self.junk(20), "<b>&", "/threshold 1h 1K"))[:64]
        user = self.rng.choice(NON_ADMINS) if chat_id < 0 else None
        self.fake.push_callback_query(chat_id, data, user_id=user)
        return self._record("callback_query", chat_id, None, data, 0)

    def migration(self) -> Pushed:
        """Upgrade one of the MIGRATING groups (once each): both service messages."""
        left = [old for old in MIGRATING if old not in self.migrated]
        if not left:
            return self.callback(self.rng.choice(PRIVATE))
        old = left[0]
        new = self.migrated[old] = MIGRATING[old]
        to = self._message_json(old, ADMIN, False)
        to["migrate_to_chat_id"] = new
        self.fake.push_update({"message": to})
        new_chat = {"id": new, "type": "supergroup", "title": "Upgraded"}
        from_ = self._message_json(new, ADMIN, False) | {"chat": new_chat}
        from_["migrate_from_chat_id"] = old
        self.fake.push_update({"message": from_})
        return self._record("migration", old, None, str(new), 0)

    def addressed_to_us(self, text: str, private: bool) -> bool:
        """Whether the bot must answer: one of its commands as PTB's CommandHandler matches
        them (``/name`` or ``/name@ourbot``, any case), or an unknown command that is
        certainly for us (``/foo@ourbot``, or ``/foo`` in a private chat)."""
        if not text.startswith("/") or not text.strip():
            return False
        token = text.split(maxsplit=1)[0][1:]
        parts = token.split("@")
        ours = self.fake.bot_user["username"].lower()
        if parts[0].lower() in self.commands and (len(parts) == 1 or parts[1].lower() == ours):
            return True
        name, _, target = token.partition("@")
        if not name:
            return False
        return target.lower() == ours if target else private

    def _message_json(self, chat_id: int, user_id: int | None, channel: bool) -> dict[str, Any]:
        if channel:
            chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": "Channel"}
        elif chat_id > 0:
            chat = {"id": chat_id, "type": "private", "first_name": "Trader"}
        else:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = {"id": chat_id, "type": kind, "title": "Group <b>&"}
        message: dict[str, Any] = {
            "message_id": self.fake._new_message_id(),
            "date": int(time.time()),
            "chat": chat,
        }
        if channel:
            message["sender_chat"] = chat
        else:
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else ADMIN)
            message["from"] = {"id": uid, "is_bot": False, "first_name": "Ü<ser>&"}
        return message

    def _record(
        self, kind: str, chat_id: int, message_id: int | None, text: str, owed: int
    ) -> Pushed:
        pushed = Pushed(kind, chat_id, message_id, text, owed)
        self.pushed.append(pushed)
        return pushed


def _fit(text: str, limit: int = 4096) -> str:
    """Cut ``text`` to ``limit`` UTF-16 code units without splitting a surrogate pair."""
    out, used = [], 0
    for ch in text:
        units = 2 if ord(ch) > 0xFFFF else 1
        if used + units > limit:
            break
        out.append(ch)
        used += units
    return "".join(out).rstrip() or "…"


async def setup_groups(bot: ChatBot) -> None:
    """ADMIN administers every GUARDED and MIGRATING group and sets it up (GROUP_SETUP);
    the NON_ADMINS are plain members."""
    for group in (*GUARDED, *MIGRATING):
        bot.fake.set_member(group, ADMIN, "administrator")
        for user in NON_ADMINS:
            bot.fake.set_member(group, user, "member")
        for text in GROUP_SETUP:
            reply = await bot.ask(group, text, user_id=ADMIN)
            if "Usage" in reply:
                raise AssertionError(f"set-up {text!r} in {group} refused: {reply}")


async def run_fuzz(bot: ChatBot, updates: int, seed: int, sentinel: int) -> UpdateFuzzer:
    """Push ``updates`` random updates, then wait until all are handled (PTB handles them
    in order, so until ``/help`` from ``sentinel``, pushed last, is answered)."""
    fuzzer = UpdateFuzzer(bot.fake, [name for name, _ in COMMANDS], random.Random(seed))
    for _ in range(updates):
        fuzzer.push_random()
    bot.fake.push_command(sentinel, "/help")
    await bot.fake.wait_until(lambda: bool(bot.fake.texts(sentinel)), within=240)
    return fuzzer


async def stored_settings(bot: ChatBot, chat_id: int) -> tuple[Any, ...]:
    """A chat's stored subscription, mute, rules and funding alert (not rule states)."""
    chat = await bot.dbt.run(store.get_chat, chat_id)
    rules = await bot.dbt.run(store.list_rules, chat_id)
    funding = await bot.dbt.run(funding_alerts.get_threshold, chat_id)
    head = None if chat is None else (chat.subscribed, chat.active, chat.muted_until_ms)
    specs = tuple(sorted((r.spec.coin or "", r.spec.window, r.spec.threshold) for r in rules))
    return head, specs, funding
