"""A fake Discord API on 127.0.0.1 for interaction follow-ups (`PATCH …/messages/@original`, POST webhook,
JSON or multipart/form-data with `payload_json` + `files[n]`), channel messages sent with the bot token,
and a CDN serving command attachments.

fake = FakeDiscord(application_id="1", token="tok")
path = fake.host_attachment("ephemeral-attachments/1/2/cat.png", b"...")   # GET base + path
path = fake.channel("1300000000000000042", bot_token="bot")   # POST base + path
with serve(fake.api.app) as base:   # settings.apiBase = base + "/api/v10"
    ...
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from typing import Any

from fakes.http_api import Recorded, RecordingApi, Reply
from fakes.slack_api import BytesReply  # raw bytes / streamed replies: nothing Slack-specific in it

PREFIX = "/api/v10"


@dataclass(frozen=True)
class Sent:
    """One message the bot sent or edited, whichever encoding it used."""

    method: str
    path: str
    payload: dict[str, Any]
    files: dict[str, tuple[str | None, str, bytes]] = field(default_factory=dict)  # field → name, type, bytes


def parse_message(request: Recorded) -> Sent:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return Sent(request.method, request.path, request.json())
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    payload: dict[str, Any] = {}
    files: dict[str, tuple[str | None, str, bytes]] = {}
    for part in parsed.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if name == "payload_json":
            payload = json.loads(data)
        else:
            files[name] = (part.get_filename(), part.get_content_type(), data)
    return Sent(request.method, request.path, payload, files)


class FakeDiscord:
    def __init__(self, application_id: str, token: str) -> None:
        self.webhook = f"{PREFIX}/webhooks/{application_id}/{token}"
        self.original = f"{self.webhook}/messages/@original"
        self.api = RecordingApi()
        self.api.default("PATCH", self.original, self._message)
        self.api.default("POST", self.webhook, self._message)

    def sent(self) -> list[Sent]:
        return [parse_message(r) for r in self.api.requests if r.path in (self.original, self.webhook)]

    def channel(self, channel_id: str, *, bot_token: str) -> str:
        """Accept messages in `channel_id` from requests with `Authorization: Bot <bot_token>`; the path."""
        path = f"{PREFIX}/channels/{channel_id}/messages"

        def create_message(request: Recorded) -> Reply:
            if request.headers.get("authorization") != f"Bot {bot_token}":
                return Reply(401, {"message": "401: Unauthorized", "code": 0})
            return self._message(request)

        self.api.default("POST", path, create_message)
        return path

    def host_attachment(
        self, path: str, content: bytes, *, mime_type: str = "application/octet-stream", chunked: bool = False
    ) -> str:
        """Serve `content` at `/<path>` as Discord's CDN does (no credentials); the URL path."""
        url_path = "/" + path.lstrip("/")
        self.api.default(
            "GET", url_path, BytesReply(content=content, content_type=mime_type, chunked=chunked)
        )
        return url_path

    def _message(self, request: Recorded) -> Reply:
        sent = parse_message(request)
        declared = sent.payload.get("attachments", [])
        if sorted(f"files[{a.get('id')}]" for a in declared) != sorted(sent.files):
            # Discord refuses attachment metadata that does not match the uploaded files
            return Reply(400, {"message": "Invalid Form Body", "code": 50035})
        if not sent.payload.get("content") and not sent.files:
            return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
        attachments = [
            {"id": "1310000000000008000", "filename": name, "content_type": kind, "size": len(data)}
            for name, kind, data in sent.files.values()
        ]
        return Reply(
            200,
            {
                "id": "1310000000000009999",
                "content": sent.payload.get("content", ""),
                "attachments": attachments,
            },
        )
