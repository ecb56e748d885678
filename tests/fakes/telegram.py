"""A fake Telegram Bot API server on 127.0.0.1 speaking the real wire protocol.

python-telegram-bot talks to it with its real HTTP client (httpx): POST
`/bot<token>/<method>` with url-encoded or multipart bodies, answered by JSON envelopes
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...}` as the
real API does. getUpdates long-polls with offsets. Tests push user messages and button
presses as updates and read back every call the bot made.

`refuse(method, chat_id, body)` makes the API answer a call for that chat with an error
envelope exactly as Telegram sent it (tests/fixtures/telegram/: a group that became a
supergroup, a user who blocked the bot), with the envelope's `error_code` as HTTP status.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.fakes.base import LoopbackServer, QuietHandler

TOKEN = "123456789:AAFakeTokenForTestsOnly-abcdefghijk"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Heat pump",
            "username": "heatpump_test_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    refused: int = 0  # the HTTP status of a refusal (`FakeBotApi.refuse`), 0 when answered


class ApiError(Exception):
    def __init__(self, code: int, description: str, body: dict[str, Any] | None = None):
        self.code, self.description = code, description
        self.body = body or {"ok": False, "error_code": code, "description": description}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (raises ValueError when it is not one)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


class FakeBotApi:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, id) -> message
        self.commands: list[dict[str, Any]] = []
        # (method, chat id) -> [error envelope, times left (None: always)]
        self.refusals: dict[tuple[str, int], list[Any]] = {}
        self._cond = threading.Condition()
        self._next_update = 1
        self._next_message = 1
        self._http = LoopbackServer(self._handler_class())

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> FakeBotApi:
        self._http.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._http.stop()

    # --- what tests do ----------------------------------------------------------------

    def _user(self, chat_id: int) -> dict[str, Any]:
        return {"id": abs(chat_id), "is_bot": False, "first_name": "Owner"}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Owner"}
        # supergroup and channel ids are -100xxxxxxxxxx; basic groups are shorter
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": "House"}

    def refuse(self, method: str, chat_id: int, body: dict[str, Any],
               times: int | None = None) -> None:
        """Answer `method` for `chat_id` with the error envelope `body` (its error_code is
        the HTTP status), `times` times or always; the call is still recorded."""
        with self._cond:
            self.refusals[(method, chat_id)] = [body, times]

    def push_migration(self, old: int, new: int) -> tuple[int, int]:
        """Group `old` became supergroup `new`: the service messages Telegram sends to both
        chats (`migrate_to_chat_id` in the old group, `migrate_from_chat_id` in the new)."""
        now = int(time.time())
        first = self._push({"message": {
            "message_id": self._new_message_id(), "date": now, "chat": self._chat(old),
            "from": self._user(old), "migrate_to_chat_id": new}})
        second = self._push({"message": {
            "message_id": self._new_message_id(), "date": now, "chat": self._chat(new),
            "sender_chat": self._chat(new), "migrate_from_chat_id": old}})
        return first, second

    def push_text(self, chat_id: int, text: str) -> int:
        """A user sends `text`; bot commands carry their entity like Telegram's clients."""
        msg: dict[str, Any] = {"message_id": self._new_message_id(), "date": int(time.time()),
                               "chat": self._chat(chat_id), "from": self._user(chat_id),
                               "text": text}
        if text.startswith("/"):
            word = text.split()[0] if text.split() else text
            msg["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(word.encode("utf-16-le")) // 2}]
        return self._push({"message": msg})

    def push_edit(self, chat_id: int, text: str, message_id: int | None = None) -> int:
        """A user edits an earlier message (by default one with a new id) to read `text`:
        Telegram sends it as an `edited_message` update with an `edit_date`."""
        msg: dict[str, Any] = {"message_id": message_id or self._new_message_id(),
                               "date": int(time.time()) - 60, "edit_date": int(time.time()),
                               "chat": self._chat(chat_id), "from": self._user(chat_id),
                               "text": text}
        if text.startswith("/"):
            word = text.split()[0] if text.split() else text
            msg["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(word.encode("utf-16-le")) // 2}]
        return self._push({"edited_message": msg})

    def push_sticker(self, chat_id: int) -> int:
        msg = {"message_id": self._new_message_id(), "date": int(time.time()),
               "chat": self._chat(chat_id), "from": self._user(chat_id),
               "sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 512,
                           "height": 512, "is_animated": False, "is_video": False,
                           "type": "regular"}}
        return self._push({"message": msg})

    def push_button(self, chat_id: int, message_id: int, data: str) -> int:
        message = self.messages.get((chat_id, message_id)) or {
            "message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id)}
        return self._push({"callback_query": {
            "id": f"cq{self._next_update}", "from": self._user(chat_id),
            "chat_instance": f"ci{chat_id}", "data": data, "message": message}})

    def _push(self, payload: dict[str, Any]) -> int:
        with self._cond:
            uid = self._next_update
            self._next_update += 1
            self.updates.append({"update_id": uid, **payload})
            self._cond.notify_all()
            return uid

    def _new_message_id(self) -> int:
        with self._cond:
            mid = self._next_message
            self._next_message += 1
            return mid

    def wait_for(self, pred, timeout: float = 20.0, after: int = 0) -> Call:
        """The first call (from index `after`) matching `pred`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for c in self.calls[after:]:
                    if pred(c):
                        return c
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [c.method for c in self.calls[after:]]
                    raise TimeoutError(f"no matching call; calls since: {names}")
                self._cond.wait(left)

    def sent_to(self, chat_id: int, after: int = 0) -> list[Call]:
        """Messages and photos that reached `chat_id` (refused calls not counted)."""
        with self._cond:
            return [c for c in self.calls[after:]
                    if c.method in ("sendMessage", "sendPhoto", "sendDocument")
                    and not c.refused
                    and int(c.params.get("chat_id", 0)) == chat_id]

    # --- the API ----------------------------------------------------------------------

    def _dispatch(self, method: str, params: dict[str, Any], files: dict[str, bytes],
                  wait: bool) -> Any:
        if method == "getUpdates":
            return self._get_updates(params)
        with self._cond:
            call = Call(method, params, files)
            refusal = self.refusals.get((method, int(params.get("chat_id") or 0)))
            if refusal is not None and refusal[1] != 0:
                if refusal[1] is not None:
                    refusal[1] -= 1
                call.refused = int(refusal[0]["error_code"])
            try:
                if call.refused:
                    body = refusal[0]
                    raise ApiError(call.refused, str(body["description"]), body)
                handler = getattr(self, f"_api_{method}", None)
                if handler is None:
                    raise ApiError(404, "Not Found: method not found")
                # the call is recorded once its effect (a stored message) is there, so a
                # test that waited for the call finds the message
                return handler(params, files)
            finally:
                self.calls.append(call)
                self._cond.notify_all()

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            # confirming: updates below the offset are forgotten, as Telegram does
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                ready = self.updates[:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return ready
                self._cond.wait(min(left, 0.5))

    def _api_getMe(self, params, files):
        return BOT_USER

    def _api_deleteWebhook(self, params, files):
        return True

    def _api_setMyCommands(self, params, files):
        cmds = params.get("commands")
        self.commands = json.loads(cmds) if isinstance(cmds, str) else cmds
        for c in self.commands:
            if not (1 <= len(c["command"]) <= 32 and 1 <= len(c["description"]) <= 256):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    def _api_getMyCommands(self, params, files):
        return self.commands

    def _api_answerCallbackQuery(self, params, files):
        return True

    def _message(self, chat_id: int, **extra: Any) -> dict[str, Any]:
        mid = self._next_message
        self._next_message += 1
        msg = {"message_id": mid, "date": int(time.time()), "chat": self._chat(chat_id),
               "from": BOT_USER, **extra}
        self.messages[(chat_id, mid)] = msg
        return msg

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any]:
        rm = params.get("reply_markup")
        if rm is None:
            return {}
        return {"reply_markup": json.loads(rm) if isinstance(rm, str) else rm}

    def _api_sendMessage(self, params, files):
        text = str(params.get("text", ""))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._message(int(params["chat_id"]), text=text, **self._markup(params))

    def _photo(self, data: bytes) -> list[dict[str, Any]]:
        try:
            w, h = png_size(data)
        except ValueError:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
        return [{"file_id": f"photo{len(data)}", "file_unique_id": f"u{len(data)}",
                 "width": w, "height": h, "file_size": len(data)}]

    def _api_sendPhoto(self, params, files):
        data = files.get("photo")
        if data is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        caption = str(params.get("caption", ""))
        if len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return self._message(int(params["chat_id"]), photo=self._photo(data), caption=caption,
                             **self._markup(params))

    def _api_sendDocument(self, params, files):
        data = files.get("document")
        if data is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        if not data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        caption = str(params.get("caption", ""))
        if len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return self._message(int(params["chat_id"]), caption=caption,
                             document={"file_id": f"doc{len(data)}",
                                       "file_unique_id": f"d{len(data)}",
                                       "file_size": len(data)})

    def _existing(self, params) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _api_editMessageText(self, params, files):
        msg = self._existing(params)
        text = str(params.get("text", ""))
        markup = self._markup(params)
        if msg.get("text") == text and msg.get("reply_markup") == markup.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        msg["text"] = text
        msg.pop("reply_markup", None)
        msg.update(markup)
        return msg

    def _api_editMessageMedia(self, params, files):
        msg = self._existing(params)
        media = params.get("media")
        media = json.loads(media) if isinstance(media, str) else media
        ref = str(media.get("media", ""))
        if not ref.startswith("attach://") or ref[9:] not in files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        msg["photo"] = self._photo(files[ref[9:]])
        msg["caption"] = media.get("caption", "")
        msg.pop("reply_markup", None)
        msg.update(self._markup(params))
        return msg

    # --- HTTP -------------------------------------------------------------------------

    def _handler_class(self):
        api = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    wrong_token = self.path.startswith("/bot")
                    code = 401 if wrong_token else 404
                    self._send(code, {"ok": False, "error_code": code,
                                      "description": "Unauthorized" if wrong_token
                                      else "Not Found"})
                    return
                method = self.path[len(prefix):].split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    params, files = parse_body(self.headers.get("Content-Type", ""), body)
                    result = api._dispatch(method, params, files, wait=True)
                    self._send(200, {"ok": True, "result": result})
                except ApiError as exc:
                    self._send(exc.code, exc.body)

            do_GET = do_POST

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                self.send_body(code, payload)

        return Handler


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters and uploaded files of a Bot API request (JSON, url-encoded or multipart)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}
    if ctype == "application/json":
        return json.loads(body), {}
    if ctype == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)), {}
    if ctype == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        msg = BytesParser(policy=HTTP).parsebytes(head + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[str(name)] = payload
            else:
                params[str(name)] = payload.decode()
        return params, files
    raise ApiError(400, f"Bad Request: unsupported content type {ctype}")


class PollingThread:
    """Runs a python-telegram-bot Application's long polling in a thread, as `heatpump bot`
    runs it, against the fake API; `loop` is the bot's event loop once started."""

    def __init__(self, app: Any, api: FakeBotApi):
        self.app, self.api = app, api
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from telegram import Update

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.app.run_polling(poll_interval=0, timeout=1, stop_signals=None, close_loop=True,
                             allowed_updates=Update.ALL_TYPES)

    def start(self) -> None:
        self.thread.start()
        self.api.wait_for(lambda c: c.method == "deleteWebhook", timeout=30)

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.app.stop_running)
        self.thread.join(30)
