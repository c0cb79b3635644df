"""The fake Bot API against the real, unchanged PTB Application, and over raw HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from telegram import BotCommand, ChatMemberAdministrator, ChatMemberMember, ChatMemberOwner, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
)
from telegram.warnings import PTBUserWarning

from bench.fakes.bot_api import FakeBotApi
from bot.notify.telegram.console_request import CONSOLE_TOKEN, ConsoleRequest

TOKEN = "123:ABC"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Without it PTB 22 warns (an error under our filterwarnings) while building RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    yield


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        yield server


def build_app(fake: FakeBotApi, **kwargs: object) -> Application:  # type: ignore[type-arg]
    builder = ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
    if "rate_limiter" in kwargs:
        builder = builder.rate_limiter(kwargs["rate_limiter"])  # type: ignore[arg-type]
    return builder.build()


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """The lifecycle the bot will run: initialize, start, poll ... and the reverse."""
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=dtm.timedelta(seconds=0.2))
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_start_command_reaches_handler_and_reply_reaches_fake(fake: FakeBotApi) -> None:
    app = build_app(fake)
    seen: list[tuple[int, list[str]]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.message is not None
        seen.append((update.effective_chat.id, list(context.args or [])))
        await update.message.reply_text("<b>Welcome</b> &amp; hi", parse_mode=ParseMode.HTML)

    app.add_handler(CommandHandler("start", start))
    async with polling(app):
        fake.push_command(42, "/start")
        fake.push_command(-1001234, "/start@liqwatch_test_bot now", user_id=7)
        fake.push_command(-1001234, "/start@someone_else_bot")  # not addressed to us
        fake.push_message(42, "start")  # not a command
        sent = await fake.wait_sent(2)
        # All four fetched (offset 5 confirms them); stop() then handles what is queued.
        await fake.wait_until(
            lambda: any(c.params.get("offset") == 5 for c in fake.calls_to("getUpdates"))
        )
    assert seen == [(42, []), (-1001234, ["now"])]
    assert [(m.chat_id, m.text, m.parse_mode) for m in sent] == [
        (42, "<b>Welcome</b> &amp; hi", "HTML"),
        (-1001234, "<b>Welcome</b> &amp; hi", "HTML"),
    ]
    methods = [c.method for c in fake.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"] and "getUpdates" in methods
    assert fake.html_violations == []
    # Every update was confirmed: the last getUpdates offset is past the last update id.
    assert fake.calls_to("getUpdates")[-1].params["offset"] == 5


async def test_errors_surface_as_ptb_exceptions(fake: FakeBotApi) -> None:
    app = build_app(fake)
    async with app:
        fake.faults.block(42)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(42, "hi")
        fake.faults.block(-55)
        with pytest.raises(Forbidden, match="kicked from the group chat"):
            await app.bot.send_message(-55, "hi")
        fake.faults.migrate(-77, -1000077)
        with pytest.raises(ChatMigrated) as migrated:
            await app.bot.send_message(-77, "hi")
        assert migrated.value.new_chat_id == -1000077
        fake.faults.flood_once(retry_after=3, chat_id=43)
        with pytest.raises(RetryAfter) as flood:
            await app.bot.send_message(43, "hi")
        assert flood.value.retry_after == dtm.timedelta(seconds=3)
        fake.faults.fail_next(502, method="sendMessage")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(43, "hi")
        fake.faults.fail_next(500, method="sendMessage")
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await app.bot.send_message(43, "hi")
        with pytest.raises(BadRequest, match="Can't parse entities: unclosed <b>"):
            await app.bot.send_message(43, "<b>oops", parse_mode=ParseMode.HTML)
        message = await app.bot.send_message(43, "fine now")
        fake.faults.unblock(42)
        await app.bot.send_message(42, "unblocked")
    assert message.text == "fine now" and message.chat.id == 43 and message.message_id > 0
    assert fake.texts(43) == ["fine now"] and fake.texts(42) == ["unblocked"]
    assert [c.status for c in fake.calls_to("sendMessage")] == [
        403,
        403,
        400,
        429,
        502,
        500,
        400,
        200,
        200,
    ]
    assert len(fake.html_violations) == 1


async def test_wrong_token_is_invalid_token() -> None:
    async with FakeBotApi(token="999:OTHER") as fake:
        app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
        with pytest.raises(InvalidToken):
            await app.initialize()
        await app.shutdown()


async def test_rate_limiter_retries_after_a_one_off_429(fake: FakeBotApi) -> None:
    app = build_app(fake, rate_limiter=AIORateLimiter(max_retries=1))
    async with app:
        fake.faults.flood_once(retry_after=1, chat_id=42)
        await app.bot.send_message(42, "after the flood")
    attempts = fake.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert fake.texts(42) == ["after the flood"]


async def test_chat_members_commands_and_callback_queries(fake: FakeBotApi) -> None:
    group = -1009876
    fake.set_member(group, 1, "creator")
    fake.set_member(group, 7, "administrator")
    fake.set_member(group, 8, "member")
    with pytest.raises(ValueError):
        fake.set_member(group, 9, "boss")
    app = build_app(fake)
    answered: list[str | None] = []

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        answered.append(update.callback_query.data)
        await update.callback_query.answer("ok")

    statuses: list[tuple[int, str]] = []

    async def on_my_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        assert change is not None
        statuses.append((change.chat.id, change.new_chat_member.status))

    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(ChatMemberHandler(on_my_member, ChatMemberHandler.MY_CHAT_MEMBER))
    async with polling(app):
        bot = app.bot
        assert isinstance(await bot.get_chat_member(group, 7), ChatMemberAdministrator)
        assert isinstance(await bot.get_chat_member(group, 1), ChatMemberOwner)
        assert isinstance(await bot.get_chat_member(group, 8), ChatMemberMember)
        assert isinstance(await bot.get_chat_member(group, 5), ChatMemberMember)
        admins = await bot.get_chat_administrators(group)
        assert sorted(a.user.id for a in admins) == [1, 7]
        commands = [BotCommand("liq", "Liquidations"), BotCommand("help", "Help")]
        assert await bot.set_my_commands(commands)
        assert await bot.get_my_commands() == tuple(commands)
        fake.push_callback_query(42, "mute:1h")
        fake.push_bot_status(43, "kicked")  # the user blocked the bot
        await fake.wait_until(lambda: bool(fake.calls_to("answerCallbackQuery") and statuses))
    assert answered == ["mute:1h"]
    assert statuses == [(43, "kicked")]
    assert fake.calls_to("answerCallbackQuery")[0].params["text"] == "ok"


async def test_raw_http_routing_bodies_and_long_poll(fake: FakeBotApi) -> None:
    base = f"{fake.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/GETME") as resp:
            assert resp.status == 200 and (await resp.json())["result"]["id"] == 123
        body = {"chat_id": 5, "text": "json body", "reply_markup": {"inline_keyboard": []}}
        async with http.post(f"{base}/sendmessage", json=body) as resp:
            result = (await resp.json())["result"]
            assert result["chat"] == {"id": 5, "type": "private"} and result["date"] > 0
        form = {"chat_id": "6", "text": "form body", "reply_markup": '{"inline_keyboard": []}'}
        async with http.post(f"{base}/sendMessage", data=form) as resp:
            assert resp.status == 200
        assert [(m.chat_id, m.params["reply_markup"]) for m in fake.sent] == [
            (5, {"inline_keyboard": []}),
            (6, {"inline_keyboard": []}),
        ]
        # An empty poll holds for its timeout and then answers [].
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with http.post(f"{base}/getUpdates", data={"timeout": "0.3"}) as resp:
            assert (await resp.json())["result"] == []
        assert 0.28 <= loop.time() - t0 < 2
        # A push wakes a pending poll at once.
        poll = asyncio.create_task(http.post(f"{base}/getUpdates", data={"timeout": "5"}))
        await asyncio.sleep(0.05)
        first = fake.push_command(5, "/liq BTC")
        t0 = loop.time()
        async with await poll as resp:
            updates = (await resp.json())["result"]
        assert loop.time() - t0 < 1
        assert [u["update_id"] for u in updates] == [first]
        assert updates[0]["message"]["entities"] == [
            {"type": "bot_command", "offset": 0, "length": 4}
        ]
        second = fake.push_command(5, "/top")
        # Without confirming, both come back; offset = first + 1 confirms the first.
        async with http.post(f"{base}/getUpdates", data={"offset": "0"}) as resp:
            assert [u["update_id"] for u in (await resp.json())["result"]] == [first, second]
        async with http.post(f"{base}/getUpdates", data={"offset": str(first + 1)}) as resp:
            assert [u["update_id"] for u in (await resp.json())["result"]] == [second]
        async with http.post(f"{base}/getUpdates", data={"offset": str(second + 1)}) as resp:
            assert (await resp.json())["result"] == []
        async with http.post(f"{base}/whatever", data={"x": "1"}) as resp:
            assert (await resp.json()) == {"ok": True, "result": True}
    assert fake.calls_to("WHATEVER")[0].params == {"x": "1"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_limits_mode_answers_429_beyond_telegram_limits() -> None:
    clock = FakeClock()
    async with FakeBotApi(token=TOKEN, limits=True, clock=clock) as fake:
        app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
        async with app:
            bot = app.bot
            await bot.send_message(1, "a")
            with pytest.raises(RetryAfter) as private:
                await bot.send_message(1, "b")  # same private chat within a second
            assert private.value.retry_after == dtm.timedelta(seconds=1)
            clock.now += 1.0
            await bot.send_message(1, "b")
            for chat in range(2, 31):  # 29 more chats in the same second: 30 in all
                await bot.send_message(chat, "x")
            with pytest.raises(RetryAfter):
                await bot.send_message(31, "x")  # the 31st message within a second
            clock.now += 1.0
            for i in range(20):
                await bot.send_message(-500, f"group {i}")
                clock.now += 0.06  # 20 messages to one group in 1.2 s: allowed
            with pytest.raises(RetryAfter) as group:
                await bot.send_message(-500, "21st this minute")
            assert group.value.retry_after == dtm.timedelta(seconds=59)
            clock.now += 59.0
            await bot.send_message(-500, "next minute")
        assert fake.limit_violations == 3
        assert [v.limit for v in fake.flood.violations] == ["private", "global", "group"]  # type: ignore[union-attr]
        assert len(fake.sent) == 2 + 29 + 20 + 1


async def test_bad_html_can_be_recorded_without_refusing() -> None:
    async with FakeBotApi(reject_bad_html=False) as fake:
        app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
        async with app:
            await app.bot.send_message(9, "1 < 2", parse_mode=ParseMode.HTML)
            await app.bot.send_message(9, "1 < 2")  # plain text: no HTML rules
    assert fake.texts(9) == ["1 < 2", "1 < 2"]
    assert [(chat, reason.split(" at ")[0]) for chat, _, reason in fake.html_violations] == [
        (9, "unescaped < or malformed tag")
    ]
    assert json.loads(json.dumps(fake.calls_to("sendMessage")[0].params))["parse_mode"] == "HTML"


# --- PTB without Telegram (console mode): the JobQueue as the only scheduler -------------


async def test_job_queue_runs_without_token_or_network() -> None:
    request = ConsoleRequest()
    app = (
        ApplicationBuilder()
        .token(CONSOLE_TOKEN)
        .updater(None)
        .request(request)
        .get_updates_request(request)
        .build()
    )
    ran: list[int] = []
    errors: list[str] = []
    enough = asyncio.Event()

    async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
        ran.append(len(ran))
        if len(ran) == 4:
            enough.set()
        if len(ran) == 2:
            raise RuntimeError("job failed")
        if len(ran) == 3:
            await context.bot.send_message(1, "no Telegram here")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(repr(context.error))

    app.add_error_handler(on_error)
    assert app.job_queue is not None
    app.job_queue.run_repeating(tick, interval=0.05, first=0.01)
    async with app:  # initialize(): getMe answered by ConsoleRequest
        await app.start()  # starts the APScheduler behind the JobQueue
        await asyncio.wait_for(enough.wait(), 5)
        await app.stop()
    assert app.bot.username == "console"
    assert errors == [
        "RuntimeError('job failed')",
        "NetworkError('console mode: no Telegram (sendMessage)')",
    ]


async def test_job_queue_started_alone_warns_when_a_job_fails() -> None:
    """The shortcut (start only app.job_queue, no initialize) runs jobs, but a failing job's
    error handling goes through Application.create_task on a stopped app: PTB warns."""
    app = ApplicationBuilder().token("0:console").updater(None).build()
    failed = asyncio.Event()

    async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
        failed.set()
        raise RuntimeError("job failed")

    assert app.job_queue is not None
    app.job_queue.run_once(tick, when=0.01)
    with pytest.warns(PTBUserWarning, match="while the application is not running"):
        await app.job_queue.start()
        await asyncio.wait_for(failed.wait(), 5)
        await asyncio.sleep(0.05)
        await app.job_queue.stop()


async def test_faults_below_the_json_html_pages_resets_late_answers(fake: FakeBotApi) -> None:
    base = f"{fake.base_url}{TOKEN}"
    fake.faults.html_error_next(502, method="sendMessage")
    fake.faults.reset_next(method="getMe")
    fake.faults.answer_late(0.5, method="sendMessage")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendMessage", json={"chat_id": 5, "text": "a"}) as resp:
            assert (resp.status, resp.content_type) == (502, "text/html")
            page = await resp.text()
            assert "<title>502 Bad Gateway</title>" in page and "nginx" in page
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with http.post(f"{base}/getMe") as resp:
                await resp.read()
        # Late: delivered at once, answered only after the delay (or never, if the client
        # gives up first: the message stays delivered).
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        timeout = aiohttp.ClientTimeout(total=0.2)
        with pytest.raises(TimeoutError):
            async with http.post(
                f"{base}/sendMessage", json={"chat_id": 5, "text": "late"}, timeout=timeout
            ) as resp:
                await resp.read()
        assert fake.texts(5) == ["late"] and fake.late_answers == 1
        assert loop.time() - t0 < 0.45
        async with http.post(f"{base}/sendMessage", json={"chat_id": 6, "text": "ok"}) as resp:
            assert resp.status == 200  # one-offs used up
    assert [c.status for c in fake.calls] == [502, 0, 200, 200]


async def test_chaos_faults_the_rate_asked_seeded_and_counts_each_kind() -> None:
    async def run(seed: int) -> tuple[list[int], dict[str, int]]:
        async with FakeBotApi(token=TOKEN) as server:
            chaos = server.faults.chaos(0.3, seed=seed, late_s=0.0)
            async with aiohttp.ClientSession() as http:
                for i in range(200):
                    body = {"chat_id": i, "text": "x"}
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.post(
                            f"{server.base_url}{TOKEN}/sendMessage", json=body
                        ) as resp:
                            await resp.read()
                async with http.post(f"{server.base_url}{TOKEN}/getMe") as resp:
                    assert resp.status == 200  # only sends are faulted
            return [c.status for c in server.calls], dict(chaos.injected)

    statuses, injected = await run(3)
    assert (statuses, injected) == await run(3)  # the same seed, the same faults
    assert set(injected) == {"json500", "html502", "reset", "flood", "late"}
    assert 40 <= sum(injected.values()) <= 80  # 30% of 200, give or take
    assert statuses.count(429) == injected["flood"] and statuses.count(0) == injected["reset"]
    assert statuses.count(500) == injected["json500"]
    assert statuses.count(502) == injected["html502"]
