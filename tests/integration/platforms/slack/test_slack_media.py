"""Slack against a fake Web API on 127.0.0.1: who the bot is (`auth.test`), files of inbound messages
fetched with the bot token under the bot's limits, Markdown as mrkdwn, images out through the external
upload flow, and the sent ledger across a redelivery."""

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from adapter_contexts import make_adapter_context
from fakes.http_api import serve
from fakes.slack_api import AUTH_TEST, COMPLETE_UPLOAD, GET_UPLOAD_URL, POST_MESSAGE, FakeSlack, form
from parley_runtime.core.ledger import MemoryLedger
from parley_runtime.core.media import MediaTooLarge, MediaUnavailable, data_url
from parley_runtime.core.messages import Attachment, InboundMessage, OutboundMessage
from parley_runtime.core.protocols import MediaSource, WebhookRequest
from parley_runtime.platforms.errors import RetryableSendError
from parley_runtime.platforms.slack import adapter

TOKEN = "xoxb-1234-integration"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DATA = Path(__file__).parents[3] / "data" / "slack"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class Clock:
    def __init__(self, now: float = 1_763_700_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack(TOKEN)
    with serve(slack.api.app) as base:
        yield slack, base


def make(
    http: httpx.AsyncClient,
    base: str,
    *,
    token: str = TOKEN,
    clock: Clock | None = None,
    ledger: MemoryLedger | None = None,
) -> adapter.SlackAdapter:
    return adapter.create(
        make_adapter_context(
            "slack",
            credentials={"botToken": token, "signingSecret": SECRET},
            settings={"apiBase": f"{base}/api"},
            http=http,
            clock=clock or Clock(),
            ledger=ledger,
        )
    )


def signed(envelope: dict[str, Any], now: float) -> WebhookRequest:
    body = json.dumps(envelope).encode()
    timestamp = str(int(now))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {"x-slack-request-timestamp": timestamp, "x-slack-signature": signature}
    return WebhookRequest(method="POST", headers=headers, body=body)


def without_authorizations(
    name: str = "message_group_no_authorizations.json", **event: Any
) -> dict[str, Any]:
    envelope = json.loads((DATA / name).read_text())
    envelope.pop("authorizations", None)
    envelope["event"].update(event)
    return envelope


# --- who the bot is -----------------------------------------------------------------------------


async def test_auth_test_names_the_bot_once_for_envelopes_without_authorizations(fake, http) -> None:
    slack, base = fake
    clock = Clock()
    a = make(http, base, clock=clock)
    first = await a.handle_webhook(signed(without_authorizations(), clock.now))
    second = await a.handle_webhook(signed(without_authorizations(ts="1763700101.000100"), clock.now))
    (mention,), (again,) = first.events, second.events
    assert mention.is_group and mention.mentioned and mention.text == "status?"
    assert again.mentioned and again.event_id != mention.event_id
    (call,) = slack.api.received(AUTH_TEST)  # cached
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


async def test_envelope_authorizations_spare_the_lookup(fake, http) -> None:
    slack, base = fake
    clock = Clock()
    envelope = json.loads((DATA / "message_channel_mention.json").read_text())
    result = await make(http, base, clock=clock).handle_webhook(signed(envelope, clock.now))
    assert result.events[0].mentioned and slack.api.received(AUTH_TEST) == []


async def test_failed_lookup_falls_back_and_is_retried_later(fake, http) -> None:
    slack, base = fake
    clock = Clock()
    slack.api.script("POST", AUTH_TEST, body={"ok": False, "error": "service_unavailable"})
    a = make(http, base, clock=clock)
    down = await a.handle_webhook(signed(without_authorizations(), clock.now))
    (unknown,) = down.events  # intake goes on: reported unaddressed, the mention left in place
    assert unknown.is_group and not unknown.mentioned and unknown.text == "<@U0BOTPARLY> status?"
    clock.now += 30
    await a.handle_webhook(signed(without_authorizations(ts="1763700101.000100"), clock.now))
    assert len(slack.api.received(AUTH_TEST)) == 1  # not hammered while down
    clock.now += 31
    back = await a.handle_webhook(signed(without_authorizations(ts="1763700102.000100"), clock.now))
    assert back.events[0].mentioned and len(slack.api.received(AUTH_TEST)) == 2


async def test_app_mention_is_addressed_even_when_the_lookup_fails(fake, http) -> None:
    slack, base = fake
    clock = Clock()
    envelope = without_authorizations("app_mention.json")
    result = await make(http, base, token="xoxb-revoked", clock=clock).handle_webhook(
        signed(envelope, clock.now)
    )
    (event,) = result.events
    assert event.mentioned and event.text == "what's the VPN address?"
    assert slack.api.received(AUTH_TEST)[0].headers["authorization"] == "Bearer xoxb-revoked"


# --- media in -----------------------------------------------------------------------------------


def inbound_with(attachment: Attachment) -> InboundMessage:
    return InboundMessage(
        bot="helpdesk",
        platform="slack",
        binding="helpdesk-slack",
        event_id="D0DIRECTCH:1763700070.000900",
        chat_id="D0DIRECTCH",
        user_id="U0HUMANAAA",
        text="",
        attachments=(attachment,),
        reply_context={"channel": "D0DIRECTCH", "ts": "1763700070.000900"},
    )


def photo(base: str, path: str, size: int | None = len(PNG)) -> Attachment:
    return Attachment(
        kind="image", mime_type="image/png", size=size, url=base + path, ref={"file_id": "F0PHOTO001"}
    )


async def test_fetch_media_downloads_with_the_bot_token(fake, http) -> None:
    slack, base = fake
    path = slack.host_file("T0001EXMPL-F0PHOTO001/download/router.png", PNG, mime_type="image/png")
    a = make(http, base)
    assert isinstance(a, MediaSource)
    attachment = photo(base, path)
    assert await a.fetch_media(inbound_with(attachment), attachment, 10 << 20) == PNG
    (request,) = slack.api.received(path)
    assert (request.method, request.headers["authorization"]) == ("GET", f"Bearer {TOKEN}")


async def test_file_from_a_converted_event_is_fetched(fake, http) -> None:
    """The whole way: a recorded `file_share` event, its URL pointed at the fake, then the bytes."""
    slack, base = fake
    path = slack.host_file("T0001EXMPL-F0PHOTO001/download/router.png", PNG, mime_type="image/png")
    envelope = json.loads((DATA / "file_share_im.json").read_text())
    envelope["event"]["files"][0]["url_private_download"] = base + path
    envelope["event"]["files"][0]["size"] = len(PNG)
    clock = Clock()
    a = make(http, base, clock=clock)
    (message,) = (await a.handle_webhook(signed(envelope, clock.now))).events
    assert await a.fetch_media(message, message.attachments[0], 1024) == PNG


async def test_declared_size_over_the_limit_downloads_nothing(fake, http) -> None:
    slack, base = fake
    path = slack.host_file("T0001EXMPL-F0PHOTO001/big.png", PNG)
    attachment = photo(base, path, size=11 << 20)
    with pytest.raises(MediaTooLarge) as info:
        await make(http, base).fetch_media(inbound_with(attachment), attachment, 10 << 20)
    assert (info.value.limit, info.value.size) == (10 << 20, 11 << 20)
    assert slack.api.received(path) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "streamed"])
async def test_body_over_the_limit_is_refused(fake, http, chunked: bool) -> None:
    slack, base = fake
    path = slack.host_file("T0001EXMPL-F0PHOTO001/huge.png", b"\x89PNG" + b"\0" * 5000, chunked=chunked)
    attachment = photo(base, path, size=None)  # Slack did not say: counted while reading
    with pytest.raises(MediaTooLarge) as info:
        await make(http, base).fetch_media(inbound_with(attachment), attachment, 4096)
    assert info.value.limit == 4096 and "4 KiB" in str(info.value)


async def test_platform_refusals_are_media_unavailable(fake, http) -> None:
    slack, base = fake
    path = slack.host_file("T0001EXMPL-F0PHOTO001/router.png", PNG)
    attachment = photo(base, path)
    with pytest.raises(MediaUnavailable) as redirected:  # revoked token → Slack's sign-in page
        await make(http, base, token="xoxb-revoked").fetch_media(
            inbound_with(attachment), attachment, 1 << 20
        )
    missing = photo(base, "/files-pri/T0001EXMPL-F0GONE0001/gone.png")
    with pytest.raises(MediaUnavailable) as gone:
        await make(http, base).fetch_media(inbound_with(missing), missing, 1 << 20)
    assert (redirected.value.cause, gone.value.cause) == ("HTTP 302", "HTTP 404")
    for error in (redirected.value, gone.value):
        assert "xoxb" not in f"{error} {error.cause}" and "files-pri" not in str(error)


async def test_token_never_goes_to_a_foreign_host(fake, http) -> None:
    slack, base = fake
    port = base.rsplit(":", 1)[1]
    for url in (
        f"http://localhost:{port}/files-pri/x/y.pdf",  # the fake under another name: not the API host
        "http://files.slack.com/files-pri/x/y.pdf",  # Slack, but not over TLS
        "https://files.slack.com.example/files-pri/x/y.pdf",
    ):
        foreign = Attachment(kind="file", url=url)
        with pytest.raises(MediaUnavailable) as info:
            await make(http, base).fetch_media(inbound_with(foreign), foreign, 1 << 20)
        assert info.value.cause == "no Slack file URL"  # refused before any connection
    assert slack.api.requests == []


# --- replies out --------------------------------------------------------------------------------


def reply(
    text: str = "", *, fmt: str = "text", attachments: tuple[Attachment, ...] = (), group: bool = True
) -> OutboundMessage:
    inbound = InboundMessage(
        bot="helpdesk",
        platform="slack",
        binding="helpdesk-slack",
        event_id="C0GENERAL1:1763700000.000200",
        chat_id="C0GENERAL1",
        user_id="U0HUMANAAA",
        text="q",
        is_group=group,
        reply_context={"channel": "C0GENERAL1", "ts": "1763700000.000200"},
    )
    return OutboundMessage(inbound=inbound, text=text, format=fmt, attachments=attachments)  # type: ignore[arg-type]


def image(name: str | None = None, data: bytes = PNG) -> Attachment:
    return Attachment(kind="image", mime_type="image/png", url=data_url(data, "image/png"), name=name)


async def test_markdown_is_sent_as_mrkdwn(fake, http) -> None:
    slack, base = fake
    await make(http, base).send(
        reply("**Done.** See [the runbook](https://wiki.example/vpn) & ask.", fmt="markdown")
    )
    (posted,) = slack.posted()
    assert posted == {
        "channel": "C0GENERAL1",
        "text": "*Done.* See <https://wiki.example/vpn|the runbook> &amp; ask.",
        "mrkdwn": True,
        "thread_ts": "1763700000.000200",
    }


async def test_long_markdown_is_split_outside_code_blocks(fake, http) -> None:
    slack, base = fake
    code = "```\n" + "x = 1\n" * 300 + "```"  # 1808 characters: must stay whole
    await make(http, base).send(reply(("para " * 500 + "\n\n" + code + "\n\n") * 2, fmt="markdown"))
    texts = [p["text"] for p in slack.posted()]
    assert len(texts) > 1 and all(len(t) <= 4000 for t in texts)
    assert sum(t.count("```") for t in texts) == 4 and all(t.count("```") % 2 == 0 for t in texts)


async def test_images_go_through_the_upload_flow_in_the_thread(fake, http) -> None:
    slack, base = fake
    await make(http, base).send(reply("Here is the chart.", attachments=(image("chart.png"), image())))
    assert [p["text"] for p in slack.posted()] == ["Here is the chart."]
    asked = [form(r) for r in slack.api.received(GET_UPLOAD_URL)]
    assert asked == [
        {"filename": "chart.png", "length": str(len(PNG))},
        {"filename": "image-2.png", "length": str(len(PNG))},
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in slack.api.received(GET_UPLOAD_URL))
    assert list(slack.uploaded.values()) == [PNG, PNG]
    uploads = [r for r in slack.api.requests if r.path.startswith("/upload/v1/")]
    assert all("authorization" not in r.headers for r in uploads)  # the upload URL authorises itself
    assert slack.shared() == [
        {
            "files": [{"id": file_id, "title": title}],
            "channel_id": "C0GENERAL1",
            "thread_ts": "1763700000.000200",
        }
        for file_id, title in zip(slack.uploaded, ["chart.png", "image-2.png"], strict=True)
    ]


async def test_attachment_only_reply_in_a_dm(fake, http) -> None:
    slack, base = fake
    await make(http, base).send(reply(attachments=(image("a.png"),), group=False))
    assert slack.posted() == []
    (shared,) = slack.shared()
    assert shared["channel_id"] == "C0GENERAL1" and "thread_ts" not in shared


async def test_redelivery_sends_no_part_twice(fake, http) -> None:
    slack, base = fake
    ledger = MemoryLedger()
    a = make(http, base, ledger=ledger)
    message = reply("Two charts.", attachments=(image("one.png"), image("two.png")))
    slack.api.script("POST", GET_UPLOAD_URL, body={"ok": False, "error": "ratelimited"})
    with pytest.raises(RetryableSendError):
        await a.send(message)  # the text went out, the first upload was refused
    await a.send(message)  # redelivered: the rest
    await a.send(message)  # redelivered after success (acknowledgement lost): nothing
    assert [p["text"] for p in slack.posted()] == ["Two charts."]
    assert [s["files"][0]["title"] for s in slack.shared()] == ["one.png", "two.png"]
    assert len(slack.uploaded) == 2 and len(slack.api.received(COMPLETE_UPLOAD)) == 2
    assert len(slack.api.received(POST_MESSAGE)) == 1
