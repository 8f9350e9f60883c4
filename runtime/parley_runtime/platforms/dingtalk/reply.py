"""How one reply reaches DingTalk: the sessionWebhook while valid, else the robot OpenAPI (if configured)."""

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import text as common_text
from parley_runtime.platforms.dingtalk import client
from parley_runtime.platforms.errors import PermanentSendError


async def deliver(
    api: client.DingTalkClient,
    message: OutboundMessage,
    *,
    robot_code: str | None,
    adapter: AdapterContext,
) -> None:
    ctx = message.inbound.reply_context
    markdown = message.format == "markdown"
    chunks = common_text.split_chars(message.text, client.MAX_CHARS)
    webhook, expires = ctx.get("session_webhook"), ctx.get("session_webhook_expires_ms")
    live = isinstance(expires, int) and adapter.clock() * 1000 + client.EXPIRY_MARGIN_MS < expires
    if isinstance(webhook, str) and webhook and live:
        async for _index, chunk in adapter.unsent(message, chunks):
            await api.to_session(webhook, chunk, markdown=markdown)
        return
    code = robot_code or ctx.get("robot_code")
    if not isinstance(code, str) or not code:
        raise PermanentSendError(client.PLATFORM, "sessionWebhook expired and no robotCode configured")
    async for _index, chunk in adapter.unsent(message, chunks):
        msg_key, msg_param = client.openapi_message(chunk, markdown=markdown)
        common = {"robotCode": code, "msgKey": msg_key, "msgParam": msg_param}
        if ctx.get("is_group"):
            conversation = ctx.get("conversation_id")
            await api.robot_send(
                "/v1.0/robot/groupMessages/send", {**common, "openConversationId": conversation}
            )
        else:
            staff_id = ctx.get("sender_staff_id") or message.inbound.user_id
            await api.robot_send("/v1.0/robot/oToMessages/batchSend", {**common, "userIds": [staff_id]})
