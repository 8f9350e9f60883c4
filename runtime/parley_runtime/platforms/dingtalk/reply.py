"""How one reply reaches DingTalk: the sessionWebhook while valid, else the robot OpenAPI (if configured);
and how an announcement, which answers nothing, reaches a group (always the robot OpenAPI).

Markdown goes as DingTalk's `markdown` message (the source as it is); a part DingTalk refuses in that
form is sent again as plain text. Neither the sessionWebhook nor the robot message API takes uploaded
media (their picture message wants a public `photoURL`), so attachments are left out with a log line.
"""

import logging
from collections.abc import Awaitable, Callable

from parley_runtime.core.messages import Attachment, OutboundMessage
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import markdown as common_markdown
from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.dingtalk import client
from parley_runtime.platforms.errors import PermanentSendError

log = logging.getLogger(__name__)

Send = Callable[[str, bool], Awaitable[None]]
"""Sends one chunk of text; the flag says whether it is Markdown."""


def chunks(message: OutboundMessage) -> list[str]:
    """The reply's text cut at the limit: Markdown by its source, so each chunk renders on its own."""
    if not message.text.strip():
        return []
    if message.format == "markdown":
        return common_markdown.split_markdown(message.text, client.MAX_CHARS)
    return common_text.split_chars(message.text, client.MAX_CHARS)


async def deliver(
    api: client.DingTalkClient,
    message: OutboundMessage,
    *,
    robot_code: str | None,
    adapter: AdapterContext,
) -> None:
    texts = chunks(message)
    parts = [*texts, *(f"attachment:{i}" for i in range(len(message.attachments)))]
    send = _route(api, message, robot_code=robot_code, adapter=adapter) if texts else None
    async for index, part in adapter.unsent(message, parts):
        if send is not None and index < len(texts):
            await _send_chunk(send, part, markdown=message.format == "markdown", binding=adapter.binding)
        else:
            _leave_out(message.attachments[index - len(texts)], binding=adapter.binding)


async def _send_chunk(send: Send, chunk: str, *, markdown: bool, binding: str) -> None:
    if not markdown:
        await send(chunk, False)
        return
    try:
        await send(chunk, True)
    except client.Rejected as exc:
        log.info(
            "dingtalk: markdown refused (%s), sending that part as plain text",
            exc.code,
            extra={"binding": binding},
        )
        await send(common_markdown.to_plain(chunk), False)


def _leave_out(attachment: Attachment, *, binding: str) -> None:
    log.info(
        "dingtalk: %s attachment not sent: robot replies take no uploaded media",
        attachment.kind,
        extra={"binding": binding},
    )


def _route(
    api: client.DingTalkClient, message: OutboundMessage, *, robot_code: str | None, adapter: AdapterContext
) -> Send:
    """The sessionWebhook while it lives, else the robot OpenAPI for the group or the 1:1 chat."""
    ctx = message.inbound.reply_context
    webhook, expires = ctx.get("session_webhook"), ctx.get("session_webhook_expires_ms")
    live = isinstance(expires, int) and adapter.clock() * 1000 + client.EXPIRY_MARGIN_MS < expires
    if isinstance(webhook, str) and webhook and live:

        async def to_session(text: str, markdown: bool) -> None:
            await api.to_session(webhook, text, markdown=markdown)

        return to_session
    code = robot_code or ctx.get("robot_code")
    if not isinstance(code, str) or not code:
        raise PermanentSendError(client.PLATFORM, "sessionWebhook expired and no robotCode configured")
    if ctx.get("is_group"):
        path, target = client.GROUP_SEND_PATH, {"openConversationId": ctx.get("conversation_id")}
    else:
        staff_id = ctx.get("sender_staff_id") or message.inbound.user_id
        path, target = client.USERS_SEND_PATH, {"userIds": [staff_id]}

    async def to_robot_api(text: str, markdown: bool) -> None:
        await api.robot_send(path, target, text, robot_code=code, markdown=markdown)

    return to_robot_api


async def announce(api: client.DingTalkClient, chat_id: str, text: str, *, robot_code: str | None) -> None:
    """Plain `text` to the group whose openConversationId (`cid…`) is `chat_id`, through the robot
    OpenAPI: without an inbound message there is no sessionWebhook."""
    target = {"openConversationId": chat_id}
    code = api.robot_code_for(robot_code)
    await api.robot_send(client.GROUP_SEND_PATH, target, text, robot_code=code, markdown=False)
