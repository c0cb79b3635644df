"""A fake Telegram Bot API server on loopback, for driving the real PTB ``Application``.

Point PTB at it with ``ApplicationBuilder().token(...).base_url(fake.base_url)``; PTB then
calls ``{fake.url}/bot{TOKEN}/{method}``. Answers carry the real JSON shapes and, for
errors, the real HTTP status codes PTB maps to its exceptions (403 -> ``Forbidden``,
429 + ``retry_after`` -> ``RetryAfter``, 400 + ``migrate_to_chat_id`` -> ``ChatMigrated``).

Tests push user messages (:meth:`FakeBotApi.push_command`), inspect what the bot sent
(:attr:`FakeBotApi.sent`), inject faults (``fake.faults.block(chat_id)``, ``.migrate``,
``.flood_once``, ``.fail_next``; below the JSON: ``.html_error_next``, ``.reset_next``,
``.answer_late``; at random: ``.chaos``) and, with ``limits=True``, get Telegram's flood
limits enforced with 429s (:attr:`FakeBotApi.limit_violations` counts them). A wrong token
gets ``401 Unauthorized`` on every method, as from Telegram.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bench.fakes.bot_api_faults import SENDS, Faults
from bench.fakes.bot_api_shapes import (
    ApiCall,
    ApiError,
    SentMessage,
    api_error,
    callback_query_json,
    chat_member,
    chat_type_of,
    coerce_params,
    command_entities,
    default_user,
    my_chat_member_json,
    update_kind,
)
from bench.fakes.bot_api_wire import WireFault, nginx_page
from bench.fakes.flood import FloodLimits, Violation
from bench.fakes.telegram_html import MAX_TEXT, check_telegram_html, html_error

__all__ = ["ApiCall", "FakeBotApi", "SentMessage", "Violation", "check_telegram_html"]


class FakeBotApi:
    """The server; use as ``async with FakeBotApi() as fake:``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        username: str = "liqwatch_test_bot",
        limits: bool = False,
        clock: Callable[[], float] = time.monotonic,
        reject_bad_html: bool = True,
        port: int = 0,
    ) -> None:
        self.token = token
        self.port = port
        self.clock = clock
        self.reject_bad_html = reject_bad_html
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":")[0]) if token else 123,
            "is_bot": True,
            "first_name": "liqwatch",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.flood: FloodLimits | None = FloodLimits(clock) if limits else None
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.html_violations: list[tuple[int | str, str, str]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.late_answers = 0  # calls carried out whose answer was held back
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int | str, int], str] = {}
        self.faults = Faults()
        self._runner: web.AppRunner | None = None
        self._activity = asyncio.Event()
        self._closing = False
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> FakeBotApi:
        """Listen on 127.0.0.1 (on ``port``, default a free one); sets :attr:`url`."""
        app = web.Application()
        app.router.add_route("*", r"/bot{token:[^/]+}/{method}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        """Release long polls and stop listening."""
        self._closing = True
        self._activity.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What to give ``ApplicationBuilder.base_url`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def limit_violations(self) -> int:
        """How many messages were refused for exceeding the flood limits."""
        return len(self.flood.violations) if self.flood else 0

    # -- what users do -------------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        user_id: int | None = None,
        first_name: str = "Trader",
        username: str | None = None,
        title: str = "Test group",
    ) -> int:
        """Queue a text message from a user; a leading ``/cmd`` gets its bot_command entity.

        ``chat_type`` defaults from the id (positive: private; -100...: supergroup; other
        negative: group). ``user_id`` defaults to the chat id in a private chat.
        """
        kind = chat_type or chat_type_of(chat_id)
        user = self._user(user_id if user_id is not None else default_user(chat_id), first_name)
        if username:
            user["username"] = username
        chat = self._chat(chat_id, kind, title=title, first_name=first_name)
        message: dict[str, Any] = {
            "message_id": self._new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        if entities := command_entities(text):
            message["entities"] = entities
        return self.push_update({"message": message})

    def push_command(self, chat_id: int, text: str, **kwargs: Any) -> int:
        """Queue a command (``/threshold 1h 250M`` or ``/start@bot``); see push_message."""
        if not text.startswith("/"):
            raise ValueError(f"a command starts with '/': {text!r}")
        return self.push_message(chat_id, text, **kwargs)

    def push_callback_query(
        self, chat_id: int, data: str, *, user_id: int | None = None, message_id: int = 1
    ) -> int:
        """Queue an inline-button press on message ``message_id`` in ``chat_id``."""
        user = self._user(user_id if user_id is not None else default_user(chat_id), "Trader")
        chat = self._chat(chat_id, chat_type_of(chat_id))
        query = callback_query_json(
            f"cq{self._next_update_id}", user, chat, data, message_id, self.bot_user
        )
        return self.push_update({"callback_query": query})

    def push_bot_status(self, chat_id: int, status: str, *, user_id: int | None = None) -> int:
        """Queue a ``my_chat_member`` update: the bot became ``kicked`` (blocked), ``member``…"""
        user = self._user(user_id if user_id is not None else default_user(chat_id), "Trader")
        chat = self._chat(chat_id, chat_type_of(chat_id))
        update = my_chat_member_json(chat, user, self.bot_user, status)
        return self.push_update({"my_chat_member": update})

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its ``update_id`` is assigned here); returns the id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **update})
        self._activity.set()
        return update_id

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Make ``user_id`` a ``creator``, ``administrator``, ``member``, ``left`` or
        ``kicked`` of ``chat_id`` (what getChatMember/getChatAdministrators answer)."""
        chat_member(status, self._user(user_id, "Trader"))  # validates the status
        self._members[(chat_id, user_id)] = status

    # -- inspection ----------------------------------------------------------------------

    def texts(self, chat_id: int | str) -> list[str | None]:
        """Texts the bot sent to ``chat_id``, in order."""
        return [m.text for m in self.sent if m.chat_id == chat_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        """Calls of ``method`` (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, re-checking after every API call or push."""
        async with asyncio.timeout(within):
            while True:
                self._activity.clear()
                if predicate():
                    return
                await self._activity.wait()

    async def wait_sent(self, count: int, within: float = 5.0) -> list[SentMessage]:
        """Wait until at least ``count`` messages were accepted; returns them all."""
        await self.wait_until(lambda: len(self.sent) >= count, within)
        return list(self.sent)

    # -- the server ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and request.can_read_body:
            params.update(await request.json())
        elif request.can_read_body:
            post = await request.post()
            params.update(
                {k: v.filename if isinstance(v, web.FileField) else v for k, v in post.items()}
            )
        params = coerce_params(params)
        token = request.match_info["token"]
        wire: WireFault | None = None
        try:
            if self.token is not None and token != self.token:
                raise api_error(401, "Unauthorized")
            wire = self.faults.take_wire(method)
            if wire is not None and wire.kind == "reset":
                self._record(method, params, 0)
                return self._reset(request)
            if wire is not None and wire.kind == "html":
                self._record(method, params, wire.status)
                page = nginx_page(wire.status)
                return web.Response(status=wire.status, text=page, content_type="text/html")
            result = await self._dispatch(method, params, one_offs=wire is None)
        except ApiError as err:
            self._record(method, params, err.status)
            return web.json_response(err.body, status=err.status)
        self._record(method, params, 200)
        if wire is not None and wire.kind == "late":
            self.late_answers += 1  # carried out; the client may stop waiting meanwhile
            await asyncio.sleep(wire.delay_s)
        return web.json_response({"ok": True, "result": result})

    def _reset(self, request: web.Request) -> web.Response:
        """Cut the connection before answering (as a dropped TCP connection does)."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        return web.Response(status=499)  # never reaches the client

    def _record(self, method: str, params: dict[str, Any], status: int) -> None:
        self.calls.append(ApiCall(method, params, self.clock(), status))
        self._activity.set()

    async def _dispatch(self, method: str, params: dict[str, Any], *, one_offs: bool) -> Any:
        name = method.lower()
        chat_id = params.get("chat_id")
        if one_offs:  # one fault per call: a late answer is not also an error
            self.faults.check_call(name, chat_id)
        if name == "getme":
            return self.bot_user
        if name == "getupdates":
            return await self._get_updates(params)
        if name.startswith(SENDS):  # a delivered message counts against flood limits
            return self._send(method, params)
        if name in {"setmycommands", "deletemycommands"}:
            scope = json.dumps(params.get("scope"), sort_keys=True)
            self.commands[scope] = list(params.get("commands") or [])
            return True
        if name == "getmycommands":
            return self.commands.get(json.dumps(params.get("scope"), sort_keys=True), [])
        if name == "getchatmember":
            return self._member_json(chat_id, int(params["user_id"]))
        if name == "getchatadministrators":
            admins = [
                self._member_json(chat, user)
                for (chat, user), status in self._members.items()
                if chat == chat_id and status in {"creator", "administrator"}
            ]
            return admins
        return True  # deleteWebhook, answerCallbackQuery, setMyDescription, ...

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        allowed = params.get("allowed_updates") or None
        if offset > 0:  # confirms every update below offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = asyncio.get_running_loop().time() + float(params.get("timeout") or 0)
        while True:
            self._activity.clear()
            pending = [u for u in self._updates if allowed is None or update_kind(u) in allowed]
            remaining = deadline - asyncio.get_running_loop().time()
            if pending or self._closing or remaining <= 0:
                return pending[:limit]
            try:
                async with asyncio.timeout(remaining):
                    await self._activity.wait()
            except TimeoutError:
                pass

    def _send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise api_error(400, "Bad Request: chat_id is empty")
        self.faults.check_send(chat_id)
        text = params.get("text")
        kind = self._chats.get(chat_id, {}).get("type") or chat_type_of(chat_id)
        if method.lower() == "sendmessage":
            self._check_text(chat_id, text, params.get("parse_mode"))
        if self.flood is not None and (wait := self.flood.admit(chat_id, kind)) is not None:
            raise api_error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        message_id = self._new_message_id()
        self.sent.append(
            SentMessage(
                chat_id, text, params.get("parse_mode"), self.clock(), message_id, method, params
            )
        )
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chats.get(chat_id) or {"id": chat_id, "type": kind},
            "from": self.bot_user,
        }
        if text is not None:
            message["text"] = text
        if "caption" in params:
            message["caption"] = params["caption"]
        return message

    def _check_text(self, chat_id: Any, text: Any, parse_mode: Any) -> None:
        if not isinstance(text, str) or not text.strip():
            raise api_error(400, "Bad Request: message text is empty")
        if str(parse_mode).upper() == "HTML":
            reason = html_error(text)
            if reason is not None:
                self.html_violations.append((chat_id, text, reason))
                if self.reject_bad_html:
                    raise api_error(400, f"Bad Request: can't parse entities: {reason}")
        elif len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise api_error(400, "Bad Request: message is too long")

    # -- bookkeeping ---------------------------------------------------------------------

    def _new_message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id

    def _user(self, user_id: int, first_name: str) -> dict[str, Any]:
        return self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": first_name}
        )

    def _chat(
        self, chat_id: int, kind: str, *, title: str = "Test group", first_name: str = "Trader"
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = title
        return self._chats.setdefault(chat_id, chat)

    def _member_json(self, chat_id: Any, user_id: int) -> dict[str, Any]:
        status = self._members.get((chat_id, user_id), "member")
        return chat_member(status, self._user(user_id, "Trader"))
