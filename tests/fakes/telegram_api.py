"""A fake Telegram Bot API on 127.0.0.1: records sendMessage calls and multipart uploads, serves
getUpdates from a list, getMe, getFile and the file download path.

fake = FakeTelegram(token="123:abc")
fake.pending.append({"update_id": 5, "message": {...}})
fake.add_file("AgAC...", b"<jpeg bytes>", path="photos/file_1.jpg")
with serve(fake.api.app) as base:   # settings.apiBase = base
    ...
fake.sent()     # JSON bodies of sendMessage calls, in order
fake.uploads()  # sendPhoto/sendVoice/sendAudio/sendDocument calls, multipart decoded, in order
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from starlette.responses import Response, StreamingResponse

from fakes.http_api import Recorded, RecordingApi, Reply

UPLOAD_METHODS = {
    "sendPhoto": "photo",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendDocument": "document",
}
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Parley Helper",
    "username": "parley_helper_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass(frozen=True)
class Upload:
    """One media call as Telegram would read it: the form fields and the file part."""

    method: str
    fields: dict[str, str]
    file_field: str
    filename: str | None
    content_type: str
    content: bytes
    multipart: bool = True


@dataclass(frozen=True)
class FileReply(Reply):
    """Raw bytes (not JSON); `chunked` streams them without a Content-Length, as a proxy might."""

    content: bytes = b""
    chunked: bool = False

    def response(self) -> Response:
        if not self.chunked:
            return Response(self.content, status_code=self.status, media_type="application/octet-stream")

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(self.content), 4096):
                yield self.content[start : start + 4096]

        return StreamingResponse(pieces(), status_code=self.status, media_type="application/octet-stream")


def parse_form(request: Recorded) -> dict[str, tuple[str | None, str, bytes]]:
    """A multipart/form-data body as {field: (filename, content type, bytes)}."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + request.body)
    form: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        form[str(name)] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return form


@dataclass
class _File:
    content: bytes
    path: str
    declare_size: bool
    chunked: bool


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.api = RecordingApi()
        self.pending: list[dict[str, Any]] = []
        self.files: dict[str, _File] = {}
        self._lock = threading.Lock()
        self._next_message_id = 9000
        self.api.default("POST", self.path("sendMessage"), self._send_message)
        self.api.default("POST", self.path("getUpdates"), self._get_updates)
        self.api.default("POST", self.path("deleteWebhook"), Reply(200, {"ok": True, "result": True}))
        self.api.default("POST", self.path("getMe"), Reply(200, {"ok": True, "result": BOT_USER}))
        self.api.default("POST", self.path("getFile"), self._get_file)
        self.api.default("GET", self.path("getFile"), self._get_file)
        for method in UPLOAD_METHODS:
            self.api.default("POST", self.path(method), self._upload)

    def path(self, method: str) -> str:
        return f"/bot{self.token}/{method}"

    def file_path(self, path: str) -> str:
        return f"/file/bot{self.token}/{path}"

    def add_file(
        self,
        file_id: str,
        content: bytes,
        *,
        path: str = "photos/file_1.jpg",
        declare_size: bool = True,
        chunked: bool = False,
    ) -> None:
        """Serve `content` for `file_id`: getFile names `path` (and its size unless `declare_size` is
        False), and the download path answers with the bytes (streamed without length if `chunked`)."""
        self.files[file_id] = _File(content, path, declare_size, chunked)
        self.api.default("GET", self.file_path(path), FileReply(content=content, chunked=chunked))

    def sent(self) -> list[Any]:
        return [r.json() for r in self.api.received(self.path("sendMessage"))]

    def polls(self) -> list[Any]:
        return [r.json() for r in self.api.received(self.path("getUpdates"))]

    def calls(self, method: str) -> list[Recorded]:
        return self.api.received(self.path(method))

    def uploads(self) -> list[Upload]:
        """Media calls in the order they arrived, whatever their method."""
        methods = {self.path(m): m for m in UPLOAD_METHODS}
        return [self._as_upload(methods[r.path], r) for r in self.api.requests if r.path in methods]

    def downloads(self) -> list[Recorded]:
        return [r for r in self.api.requests if r.path.startswith(f"/file/bot{self.token}/")]

    def _as_upload(self, method: str, request: Recorded) -> Upload:
        file_field = UPLOAD_METHODS[method]
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            body = request.json()  # a URL instead of a file
            fields = {k: str(v) for k, v in body.items() if k != file_field}
            return Upload(
                method, fields, file_field, None, "text/uri-list", str(body[file_field]).encode(), False
            )
        form = parse_form(request)
        filename, content_type, content = form.pop(file_field)
        fields = {name: data.decode() for name, (_, _, data) in form.items()}
        return Upload(method, fields, file_field, filename, content_type, content)

    def _message(self, chat_id: Any, **extra: Any) -> Reply:
        with self._lock:
            self._next_message_id += 1
            result = {"message_id": self._next_message_id, "chat": {"id": chat_id}, **extra}
        return Reply(200, {"ok": True, "result": result})

    def _send_message(self, request: Recorded) -> Reply:
        body = request.json()
        return self._message(body["chat_id"], text=body["text"])

    def _upload(self, request: Recorded) -> Reply:
        method = request.path.rsplit("/", 1)[-1]
        upload = self._as_upload(method, request)
        return self._message(upload.fields.get("chat_id"), **{upload.file_field: {"file_id": "sent-1"}})

    def _get_file(self, request: Recorded) -> Reply:
        file_id = request.query.get("file_id") or (request.json() if request.body else {}).get("file_id")
        found = self.files.get(str(file_id))
        if found is None:
            return Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"})
        result: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": "u-" + str(file_id),
            "file_path": found.path,
        }
        if found.declare_size:
            result["file_size"] = len(found.content)
        return Reply(200, {"ok": True, "result": result})

    def _get_updates(self, request: Recorded) -> Reply:
        offset = request.json().get("offset")
        with self._lock:
            if offset is not None:  # like Telegram: an offset confirms every earlier update
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            batch = list(self.pending)
        if not batch:
            time.sleep(0.02)  # a (very) short long-poll, so an idle poller does not spin
        return Reply(200, {"ok": True, "result": batch})
