"""A fake Slack Web API on 127.0.0.1: `chat.postMessage`, `auth.test`, the external file upload flow
(`files.getUploadURLExternal` → POST the bytes to `upload_url` → `files.completeUploadExternal`) and
private file downloads (`url_private_download`, bearer token required), all recorded.

fake = FakeSlack()
fake.api.script("POST", "/api/chat.postMessage", body={"ok": False, "error": "ratelimited"})
url_path = fake.host_file("T0001-F0PHOTO/cat.png", b"...")   # GET base + url_path
with serve(fake.api.app) as base:   # settings.apiBase = base + "/api"
    ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response, StreamingResponse

from fakes.http_api import Recorded, RecordingApi, Reply

POST_MESSAGE = "/api/chat.postMessage"
AUTH_TEST = "/api/auth.test"
GET_UPLOAD_URL = "/api/files.getUploadURLExternal"
COMPLETE_UPLOAD = "/api/files.completeUploadExternal"
UPLOAD_PREFIX = "/upload/v1/"
FILES_PREFIX = "/files-pri/"


@dataclass(frozen=True)
class BytesReply(Reply):
    """Raw bytes instead of JSON; `chunked` streams them without a Content-Length, as a server that
    does not say the size up front."""

    content: bytes = b""
    content_type: str = "application/octet-stream"
    chunked: bool = False

    def response(self) -> Response:
        if not self.chunked:
            return Response(self.content, self.status, self.headers, media_type=self.content_type)
        pieces = [self.content[i : i + 1024] for i in range(0, len(self.content), 1024)]

        async def stream() -> Any:
            for piece in pieces:
                yield piece

        return StreamingResponse(stream(), self.status, self.headers, media_type=self.content_type)


def form(request: Recorded) -> dict[str, str]:
    """A form-encoded request body as a dict."""
    return dict(parse_qsl(request.body.decode()))


class FakeSlack:
    def __init__(self, token: str = "xoxb-fake", *, bot_user_id: str = "U0BOTPARLY") -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.api = RecordingApi()
        self.uploaded: dict[str, bytes] = {}  # file id → bytes POSTed to its upload URL
        self._pending: dict[str, str] = {}  # file id → filename, between the two upload calls
        self.api.default("POST", POST_MESSAGE, self._post_message)
        self.api.default("POST", AUTH_TEST, self._auth_test)
        self.api.default("POST", GET_UPLOAD_URL, self._get_upload_url)
        self.api.default("POST", COMPLETE_UPLOAD, self._complete_upload)

    def posted(self) -> list[Any]:
        return [r.json() for r in self.api.received(POST_MESSAGE)]

    def shared(self) -> list[dict[str, Any]]:
        """Each `files.completeUploadExternal` form, with `files` parsed."""
        calls = [form(r) for r in self.api.received(COMPLETE_UPLOAD)]
        return [{**call, "files": json.loads(call["files"])} for call in calls]

    def host_file(
        self, path: str, content: bytes, *, mime_type: str = "application/octet-stream", chunked: bool = False
    ) -> str:
        """Serve `content` at `/files-pri/<path>` to requests with the bot token; the URL path."""
        url_path = FILES_PREFIX + path
        reply = BytesReply(content=content, content_type=mime_type, chunked=chunked)

        def download(request: Recorded) -> Reply:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                # what files.slack.com does without a valid token: off to the sign-in page
                return Reply(302, headers={"location": "https://example.slack.com/?redir=%2Ffiles-pri"})
            return reply

        self.api.default("GET", url_path, download)
        return url_path

    def _authorised(self, request: Recorded) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _post_message(self, request: Recorded) -> Reply:
        if not self._authorised(request):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        body = request.json()
        return Reply(200, {"ok": True, "channel": body.get("channel"), "ts": "1763700100.000100"})

    def _auth_test(self, request: Recorded) -> Reply:
        if not self._authorised(request):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        return Reply(
            200,
            {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "parley",
                "team_id": "T0001EXMPL",
                "user_id": self.bot_user_id,
                "bot_id": "B0BOTPARLY",
                "is_enterprise_install": False,
            },
        )

    def _get_upload_url(self, request: Recorded) -> Reply:
        if not self._authorised(request):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        args = form(request)
        if not args.get("filename") or not args.get("length", "").isdigit() or args["length"] == "0":
            return Reply(200, {"ok": False, "error": "missing_argument"})
        file_id = f"F0UPLOAD{len(self._pending) + 1:03d}"
        self._pending[file_id] = args["filename"]
        path = UPLOAD_PREFIX + file_id
        self.api.default("POST", path, lambda r, file_id=file_id: self._upload(r, file_id))
        host = request.headers.get("host", "127.0.0.1")
        return Reply(200, {"ok": True, "upload_url": f"http://{host}{path}", "file_id": file_id})

    def _upload(self, request: Recorded, file_id: str) -> Reply:
        self.uploaded[file_id] = request.body
        return BytesReply(content=f"OK - {len(request.body)}".encode(), content_type="text/plain")

    def _complete_upload(self, request: Recorded) -> Reply:
        if not self._authorised(request):
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        files = json.loads(form(request).get("files", "[]"))
        if not files or any(f.get("id") not in self.uploaded for f in files):
            return Reply(200, {"ok": False, "error": "file_not_found"})
        return Reply(200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]})
